"""The Open Inference Protocol over gRPC, side by side in one run: MLServer's gRPC server and mlpy's.

Both get the same fitted LinearRegression (server_throughput.py's) and the same ModelInferRequest,
its tensor in ``raw_input_contents`` as Triton's and KServe's clients send it. ghz (a gRPC load
generator, built once from the Go module proxy into ~/.cache/mlpy-bench/bin) drives each with 64
concurrent calls over 4 connections; mlpy's HTTP route with JSON and with binary tensors runs in the
same run, under wrk, for the comparison between transports. Server CPU per call from /proc.

    python bench/server_grpc.py            # 10 s per row
    python bench/server_grpc.py --quick    # 5 s per row

Needs wrk, Go (to build ghz once) and bench/.venv-mlserver (made on first use). Results are printed
and written to bench/results/server_grpc.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from server_throughput import (
    BENCH,
    FEATURES,
    ROOT,
    Result,
    Server,
    binary_body,
    fit_model,
    request_body,
    run_wrk,
    start_mlpy,
    start_mlserver,
    tree_cpu_seconds,
)

from localk8s import free_port

GHZ_VERSION = "v0.121.0"
GHZ_HOME = Path.home() / ".cache" / "mlpy-bench" / "bin"
PROTO = ROOT / "server" / "mlpy_server" / "protos" / "inference.proto"
CALL = "inference.GRPCInferenceService/ModelInfer"


def ensure_ghz() -> str:
    found = shutil.which("ghz") or (str(GHZ_HOME / "ghz") if (GHZ_HOME / "ghz").exists() else None)
    if found:
        return found
    if shutil.which("go") is None:
        raise SystemExit("ghz is missing and Go is not installed to build it")
    print(f"building ghz {GHZ_VERSION} into {GHZ_HOME} (once, a few minutes)", flush=True)
    GHZ_HOME.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(GHZ_HOME)}
    subprocess.run(["go", "install", f"github.com/bojand/ghz/cmd/ghz@{GHZ_VERSION}"], env=env, check=True)
    return str(GHZ_HOME / "ghz")


def infer_request(rows: int) -> dict[str, Any]:
    """A ModelInferRequest in ghz's JSON form: the rows of server_throughput.py, sent raw."""
    import numpy as np

    data = np.asarray([[round(0.1 * (r + c), 3) for c in range(FEATURES)] for r in range(rows)], dtype="<f8")
    return {
        "model_name": "lin",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [rows, FEATURES]}],
        "outputs": [{"name": "predict"}],
        "raw_input_contents": [base64.b64encode(data.tobytes()).decode()],
    }


def run_ghz(
    ghz: str, scenario: str, server: Server, port: int, rows: int, seconds: int, folder: Path
) -> Result:
    data = folder / f"grpc-{rows}.json"
    data.write_text(json.dumps(infer_request(rows)))
    argv = [
        ghz, "--insecure", "--proto", str(PROTO), "--call", CALL, "-D", str(data),
        "-c", "64", "--connections", "4", "--duration-stop", "wait", "--format", "json",
        f"127.0.0.1:{port}",
    ]  # fmt: skip
    subprocess.run([*argv[:-1], "-z", "2s", argv[-1]], capture_output=True, check=True)  # warm-up
    before = tree_cpu_seconds(server.process.pid)
    done = subprocess.run(
        [*argv[:-1], "-z", f"{seconds}s", argv[-1]], capture_output=True, text=True, check=False
    )
    cpu = tree_cpu_seconds(server.process.pid) - before
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"cannot read ghz's output for {scenario}: {done.stderr or done.stdout}") from exc
    latency = {int(d["percentage"]): d["latency"] / 1e6 for d in report.get("latencyDistribution") or []}
    codes = report.get("statusCodeDistribution") or {}
    total = int(report.get("count", 0))
    failed = total - int(codes.get("OK", 0))
    result = Result(
        scenario, rows, float(report["rps"]), latency.get(50, 0.0), latency.get(99, 0.0),
        1e6 * cpu / max(total, 1), failed,
    )  # fmt: skip
    print(result.line(), flush=True)
    if failed:
        print(f"      {failed} of {total} calls failed: {codes}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 s runs instead of 10 s")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    ghz = ensure_ghz()
    seconds = 5 if args.quick else 10
    (BENCH / "results").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="mlpy-bench-grpc-"))
    skops_path, joblib_path, sha = fit_model(folder)
    results: list[Result] = []
    mlserver_grpc = free_port()
    mlserver = start_mlserver(folder, joblib_path, mlserver_grpc)
    try:
        for rows in (1, 100):
            results.append(run_ghz(ghz, "mlserver gRPC", mlserver, mlserver_grpc, rows, seconds, folder))
    finally:
        mlserver.stop()
    mlpy_grpc = free_port()
    mlpy = start_mlpy("mlpy_grpc", skops_path, sha, folder, MLPY_GRPC_PORT=str(mlpy_grpc))
    try:
        for rows in (1, 100):
            results.append(run_ghz(ghz, "mlpy gRPC", mlpy, mlpy_grpc, rows, seconds, folder))
            infer = "/v2/models/lin/infer"
            results.append(
                run_wrk(
                    "mlpy HTTP JSON", mlpy, infer, request_body(rows), rows, seconds, folder, connections=64
                )
            )
            body, headers = binary_body(rows)
            results.append(run_wrk("mlpy HTTP binary", mlpy, infer, body, rows, seconds, folder, headers, 64))
    finally:
        mlpy.stop()
    by = {(r.scenario, r.rows): r for r in results}
    print("\nratios (the linear model: mlpy's linear shortcut answers; MLServer calls predict)")
    for rows in (1, 100):
        grpc = by[("mlpy gRPC", rows)].requests_per_s
        line = [f"  {rows:>3} row(s):"]
        for anchor in ("mlserver gRPC", "mlpy HTTP JSON", "mlpy HTTP binary"):
            line.append(f"mlpy gRPC / {anchor} {grpc / by[(anchor, rows)].requests_per_s:5.2f}x")
        print("   ".join(line))
    out = BENCH / "results" / "server_grpc.json"
    out.write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
