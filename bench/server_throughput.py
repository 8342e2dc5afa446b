"""Model server throughput, side by side in one run: MLServer, mlpy serve, a minimal route, a bare echo.

Every server gets the same fitted LinearRegression (joblib for MLServer-sklearn, skops for mlpy) and
the same request bytes; wrk drives each with 16 connections and one thread. Server CPU per request
comes from /proc/<pid>/stat (utime + stime of the server's process tree) before and after each run.

    python bench/server_throughput.py            # everything (~9 minutes, the tree models included)
    python bench/server_throughput.py --quick    # shorter runs
    python bench/server_throughput.py --only trees   # a forest and a boosting pipeline, with batching
                                                     # and compiled inference (bench/server_trees.py)
    python bench/server_throughput.py --serve-minimal PORT MODEL   # (internal) the minimal route
    python bench/server_throughput.py --serve-echo PORT            # (internal) the bare echo

MLServer has no binary tensor extension over HTTP (SeldonIO/MLServer#324), so the binary rows compare
with mlpy's own JSON only; the gRPC rows, beside MLServer's gRPC, are in bench/server_grpc.py.

Needs wrk (apt-get install -y wrk). Creates bench/.venv-mlserver (MLServer 1.7.1, uvloop 0.21) once.
Results are printed and written to bench/results/server_throughput.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from localk8s import free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
MLSERVER_VENV = BENCH / ".venv-mlserver"
# uvloop 0.23 crashes MLServer's parallel workers (MLServer#2286) and is slower with one process.
MLSERVER_PINS = ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop==0.21.0"]
FEATURES = 10
CONNECTIONS = 16
TICKS = os.sysconf("SC_CLK_TCK")
ADMIN_KEY = "bench-admin-key"
BINARY_NOTE = (
    "MLServer has no binary tensor extension over HTTP (SeldonIO/MLServer#324): the binary rows compare"
    " with mlpy's own JSON only. gRPC rows beside MLServer's are in bench/server_grpc.py."
)


# ----------------------------------------------------------------------------- the two reference servers
def serve_minimal(port: int, model_path: str) -> None:
    """The anchor: parse with orjson, build the array, predict, answer with orjson. No checks at all."""
    import numpy as np
    import orjson
    import skops.io
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    model = skops.io.load(model_path, trusted=skops.io.get_untrusted_types(file=model_path))

    async def infer(request: Request) -> Response:
        data = orjson.loads(await request.body())
        tensor = data["inputs"][0]
        x = np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
        y = model.predict(x)
        body = {
            "model_name": request.path_params["name"],
            "outputs": [{"name": "predict", "shape": list(y.shape), "datatype": "FP64", "data": y.tolist()}],
        }
        return Response(orjson.dumps(body), media_type="application/json")

    app = Starlette(routes=[Route("/v2/models/{name}/infer", infer, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_echo(port: int) -> None:
    """The floor: the same HTTP stack answering with the request body."""
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ----------------------------------------------------------------------------- setup
def ensure_mlserver() -> Path:
    binary = MLSERVER_VENV / "bin" / "mlserver"
    if binary.exists():
        return binary
    print(f"creating {MLSERVER_VENV} ({', '.join(MLSERVER_PINS)})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(MLSERVER_VENV)], check=True)
    # The same scikit-learn (and numpy) as this process, so both servers unpickle the same files alike.
    import numpy
    import sklearn

    same = [f"scikit-learn=={sklearn.__version__}", f"numpy=={numpy.__version__}"]
    subprocess.run([str(MLSERVER_VENV / "bin" / "pip"), "install", "-q", *MLSERVER_PINS, *same], check=True)
    return binary


def fit_model(folder: Path) -> tuple[Path, Path, str]:
    import joblib
    import numpy as np
    import skops.io
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(7)
    x = rng.normal(size=(1000, FEATURES))
    model = LinearRegression().fit(x, x @ rng.normal(size=FEATURES) + 1.0)
    skops_path, joblib_path = folder / "model.skops", folder / "model.joblib"
    skops.io.dump(model, skops_path)
    joblib.dump(model, joblib_path)
    return skops_path, joblib_path, hashlib.sha256(skops_path.read_bytes()).hexdigest()


def request_body(rows: int) -> bytes:
    data = [[round(0.1 * (r + c), 3) for c in range(FEATURES)] for r in range(rows)]
    tensor = {"name": "input-0", "shape": [rows, FEATURES], "datatype": "FP64", "data": data}
    return json.dumps({"inputs": [tensor]}).encode()


def binary_body(rows: int) -> tuple[bytes, dict[str, str]]:
    """The same rows with the binary tensor extension, as tritonclient sends them by default."""
    import numpy as np

    data = np.asarray([[round(0.1 * (r + c), 3) for c in range(FEATURES)] for r in range(rows)], dtype="<f8")
    tensor = {
        "name": "input-0",
        "shape": [rows, FEATURES],
        "datatype": "FP64",
        "parameters": {"binary_data_size": data.nbytes},
    }
    header = json.dumps(
        {"inputs": [tensor], "outputs": [{"name": "predict", "parameters": {"binary_data": True}}]}
    )
    return header.encode() + data.tobytes(), {"Inference-Header-Content-Length": str(len(header))}


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def start(
    name: str, argv: list[str], port: int, env: dict[str, str], ready_path: str, cwd: Path | None = None
) -> Server:
    import httpx

    log = open(BENCH / "results" / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited; see bench/results/{name}.log")
        try:
            if httpx.get(url + ready_path, timeout=1).status_code == 200:
                return Server(name, process, url)
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{name} did not become ready; see bench/results/{name}.log")


def start_mlserver(folder: Path, joblib_path: Path, grpc_port: int | None = None) -> Server:
    binary = ensure_mlserver()
    port = free_port()
    models = folder / "mlserver"
    models.mkdir(exist_ok=True)
    shutil.copy(joblib_path, models / "model.joblib")
    (models / "settings.json").write_text(
        json.dumps(
            {
                "http_port": port,
                "grpc_port": grpc_port or free_port(),
                "metrics_port": free_port(),
                "parallel_workers": 0,
                "debug": False,
            }
        )
    )
    (models / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "lin",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "1"},
            }
        )
    )
    env = {**os.environ, "MLSERVER_PARALLEL_WORKERS": "0"}
    return start(
        "mlserver", [str(binary), "start", str(models)], port, env, "/v2/models/lin/ready", cwd=models
    )


def start_mlpy(name: str, skops_path: Path, sha: str, folder: Path, **env_extra: str) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "MLPY_HOME": str(folder / f"home-{name}"),
        "MLPY_MODEL_URI": str(skops_path),
        "MLPY_MODEL_SHA256": sha,
        "MLPY_MODEL_FORMAT": "skops",
        "MLPY_MODEL_NAME": "lin",
        "MLPY_MODEL_VERSION": "1",
        **env_extra,
    }
    mlpy = str(Path(sys.executable).with_name("mlpy"))
    return start(name, [mlpy, "serve", "--port", str(port), "--log-level", "warning"], port, env, "/readyz")


def _start_script(name: str, argv: list[str], port: int) -> Server:
    """The reference servers have no health route: wait for the port to accept connections."""
    log = open(BENCH / "results" / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited; see bench/results/{name}.log")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return Server(name, process, f"http://127.0.0.1:{port}")
        time.sleep(0.2)
    raise SystemExit(f"{name} did not start")


# ----------------------------------------------------------------------------- measuring
def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and all its descendants, in seconds."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return total


@dataclass
class Result:
    scenario: str
    rows: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float
    errors: int

    def line(self) -> str:
        """One row of the run's printout, whichever load generator measured it."""
        return (
            f"  {self.scenario:<28} rows={self.rows:<4} {self.requests_per_s:>9.0f} req/s  "
            f"p50 {self.p50_ms:>7.2f} ms  p99 {self.p99_ms:>7.2f} ms  "
            f"{self.cpu_us_per_request:>6.0f} us CPU/req  errors {self.errors}"
        )


LUA = """
wrk.method = "POST"
wrk.body = io.open("{body}", "rb"):read("*a")
wrk.headers["Content-Type"] = "application/json"
{headers}
"""


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    scenario: str,
    server: Server,
    path: str,
    body: bytes,
    rows: int,
    seconds: int,
    folder: Path,
    headers: dict[str, str] | None = None,
    connections: int = CONNECTIONS,
) -> Result:
    body_file = folder / f"body-{rows}.json"
    body_file.write_bytes(body)
    script = folder / f"{scenario}.lua"
    header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items())
    script.write_text(LUA.format(body=body_file, headers=header_lines))
    argv = ["wrk", "-t1", f"-c{connections}", "--latency", "-s", str(script), server.url + path]
    subprocess.run([*argv[:-1], "-d2s", argv[-1]], capture_output=True, check=True)  # warm-up
    before = tree_cpu_seconds(server.process.pid)
    out = subprocess.run(
        [*argv[:-1], f"-d{seconds}s", argv[-1]], capture_output=True, text=True, check=True
    ).stdout
    cpu = tree_cpu_seconds(server.process.pid) - before
    if not re.search(r"^\s+50%\s+[\d.]+(us|ms|s)\b", out, re.M):
        raise SystemExit(f"cannot read wrk's output for {scenario}:\n{out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored: the thread stats above also print percentages (e.g. "90.50%").
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    result = Result(scenario, rows, rate, p50, p99, 1e6 * cpu / max(total, 1), failed)
    print(result.line(), flush=True)
    return result


# ----------------------------------------------------------------------------- in-process prices
def in_process_prices(
    skops_path: Path, sha: str, folder: Path, body: bytes, requests: int = 4000
) -> dict[str, float]:
    """CPU per request of the app itself (ASGI calls, no HTTP, no other process), feature by feature.

    Far less noisy than differences between separate HTTP runs; ``time.process_time`` counts every
    thread, so the prediction log's writer is included.
    """
    import asyncio

    from mlpy_server import ServerSettings, create_app
    from mlpy_server.auth import hash_key
    from mlpy_server.settings import UriModel

    model = UriModel(str(skops_path), sha, "skops", "lin", "1")
    configs: dict[str, dict[str, Any]] = {
        "bare": {"request_metrics": False},
        "+metrics": {},
        "+metrics+auth": {"api_keys": (f"bench:admin:{hash_key(ADMIN_KEY)}",)},
        "+metrics+predlog": {
            "predlog_sample_rate": 1.0,
            "predlog_store_url": f"sqlite:///{folder / 'inproc.db'}",
        },
    }
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-api-key", ADMIN_KEY.encode()),
    ]

    async def measure(app: Any) -> float:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:
                raise SystemExit(f"in-process request failed with {message['status']}")

        path = "/v2/models/lin/infer"

        def scope() -> dict[str, Any]:
            return {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": b"",
                "root_path": "",
                "headers": headers,
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 2),
            }

        state = app.state.mlpy
        await state.start()
        while not state.ready()[0]:
            await asyncio.sleep(0.05)
        for _ in range(200):
            await app(scope(), receive, send)
        started = time.process_time()
        for _ in range(requests):
            await app(scope(), receive, send)
        if state.predlog is not None:
            await asyncio.to_thread(state.predlog.flush)
        spent = time.process_time() - started
        await state.stop()
        return 1e6 * spent / requests

    return {
        name: asyncio.run(measure(create_app(ServerSettings(uri_model=model, **extra))))
        for name, extra in configs.items()
    }


# ----------------------------------------------------------------------------- the run
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 s runs instead of 10 s")
    parser.add_argument("--serve-minimal", nargs=2, metavar=("PORT", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-echo", metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        choices=["all", "anchors", "mlpy", "router", "trees"],
        default="all",
        help="run one group: anchors (MLServer, minimal route, echo), mlpy, router, or trees (a forest and"
        " a boosting pipeline, bench/server_trees.py)",
    )
    args = parser.parse_args()
    if args.serve_minimal:
        serve_minimal(int(args.serve_minimal[0]), args.serve_minimal[1])
        return
    if args.serve_echo:
        serve_echo(int(args.serve_echo))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    seconds = 5 if args.quick else 10
    if args.only == "trees":
        _run_trees(5 if args.quick else 15)
        return
    (BENCH / "results").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="mlpy-bench-"))
    skops_path, joblib_path, sha = fit_model(folder)
    one, hundred = request_body(1), request_body(100)
    infer = "/v2/models/lin/infer"
    key_hash = hashlib.sha256(ADMIN_KEY.encode()).hexdigest()
    auth_env = {"MLPY_API_KEYS": f"bench:admin:{key_hash}"}
    auth_header = {"X-API-Key": ADMIN_KEY}
    predlog_env = {
        "MLPY_PREDLOG_SAMPLE_RATE": "1.0",
        "MLPY_PREDLOG_STORE": f"sqlite:///{folder / 'predlog.db'}",
    }
    load = os.getloadavg()
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs", flush=True
    )
    results: list[Result] = []
    servers: list[Server] = []
    try:
        if args.only in ("all", "anchors"):
            mlserver = start_mlserver(folder, joblib_path)
            servers.append(mlserver)
            results.append(run_wrk("mlserver", mlserver, infer, one, 1, seconds, folder))
            results.append(run_wrk("mlserver", mlserver, infer, hundred, 100, seconds, folder))
            mlserver.stop()
            minimal = _start_script(
                "minimal",
                [sys.executable, __file__, "--serve-minimal", str(port := free_port()), str(skops_path)],
                port,
            )
            servers.append(minimal)
            results.append(run_wrk("minimal orjson+predict", minimal, infer, one, 1, seconds, folder))
            results.append(run_wrk("minimal orjson+predict", minimal, infer, hundred, 100, seconds, folder))
            minimal.stop()
            echo = _start_script(
                "echo", [sys.executable, __file__, "--serve-echo", str(port := free_port())], port
            )
            servers.append(echo)
            results.append(run_wrk("bare echo", echo, infer, one, 1, seconds, folder))
            echo.stop()
        if args.only in ("all", "mlpy"):
            variants = {
                "mlpy bare": {"MLPY_REQUEST_METRICS": "false"},
                "mlpy +metrics": {},
                "mlpy +metrics+auth": auth_env,
                "mlpy +metrics+predlog": predlog_env,
            }
            for name, extra in variants.items():
                server = start_mlpy(name.replace(" ", "_").replace("+", ""), skops_path, sha, folder, **extra)
                servers.append(server)
                headers = auth_header if "MLPY_API_KEYS" in extra else None
                results.append(run_wrk(name, server, infer, one, 1, seconds, folder, headers))
                if name == "mlpy +metrics":  # what `mlpy serve` does out of the box
                    results.append(run_wrk(name, server, infer, hundred, 100, seconds, folder, headers))
                    for rows in (1, 100):  # the binary tensor extension, in and out
                        body, binary_headers = binary_body(rows)
                        label = "mlpy +metrics, binary"
                        results.append(
                            run_wrk(label, server, infer, body, rows, seconds, folder, binary_headers)
                        )
                server.stop()
            full = start_mlpy("mlpy_full", skops_path, sha, folder, **auth_env, **predlog_env)
            servers.append(full)
            results.append(run_wrk("mlpy full", full, infer, one, 1, seconds, folder, auth_header))
            results.append(run_wrk("mlpy full", full, infer, hundred, 100, seconds, folder, auth_header))
            full.stop()
            sampled_env = {**predlog_env, "MLPY_PREDLOG_SAMPLE_RATE": "0.1"}
            sampled = start_mlpy("mlpy_full_sampled", skops_path, sha, folder, **auth_env, **sampled_env)
            servers.append(sampled)
            results.append(
                run_wrk("mlpy full, log 10%", sampled, infer, hundred, 100, seconds, folder, auth_header)
            )
            sampled.stop()
            plain = start_mlpy(
                "mlpy_full_sklearn",
                skops_path,
                sha,
                folder,
                MLPY_FAST_PREDICT="false",
                **auth_env,
                **predlog_env,
            )
            servers.append(plain)
            results.append(
                run_wrk("mlpy full, sklearn predict", plain, infer, one, 1, seconds, folder, auth_header)
            )
            plain.stop()
        if args.only in ("all", "router"):
            target = start_mlpy("mlpy_router_target", skops_path, sha, folder)
            servers.append(target)
            experiment = folder / "experiment.yaml"
            experiment.write_text(
                json.dumps(
                    {
                        "name": "bench",
                        "spec": {
                            "variants": [
                                {"name": "A", "upstream": target.url},
                                {"name": "B", "upstream": target.url},
                            ]
                        },
                    }
                )
            )
            direct = run_wrk("direct (router target)", target, infer, one, 1, seconds, folder)
            router = start_mlpy(
                "mlpy_router", skops_path, sha, folder, MLPY_EXPERIMENT=str(experiment), MLPY_MODEL_URI=""
            )
            servers.append(router)
            routed = run_wrk("via router", router, infer, one, 1, seconds, folder)
            # The hop's own latency, without 16 connections queueing in front of it.
            direct_one = run_wrk(
                "direct, 1 connection", target, infer, one, 1, seconds, folder, connections=1
            )
            routed_one = run_wrk(
                "via router, 1 connection", router, infer, one, 1, seconds, folder, connections=1
            )
            results += [direct, routed, direct_one, routed_one]
    finally:
        for server in servers:
            server.stop()
    prices = {}
    if args.only in ("all", "mlpy"):
        prices = in_process_prices(skops_path, sha, folder, one)
    report(results, load, prices)
    if args.only == "all":
        print("\n== tree models (bench/server_trees.py)", flush=True)
        _run_trees(5 if args.quick else 15)


def _run_trees(seconds: int) -> None:
    """The rows of bench/server_trees.py: a forest and a boosting pipeline, where predict dominates."""
    import server_trees

    server_trees.run(seconds)


def report(results: list[Result], load: tuple[float, float, float], in_process: dict[str, float]) -> None:
    by = {(r.scenario, r.rows): r for r in results}

    def ratio(a: tuple[str, int], b: tuple[str, int], field: str) -> float | None:
        if a in by and b in by and getattr(by[b], field):
            return float(getattr(by[a], field) / getattr(by[b], field))
        return None

    ratios = {
        "throughput mlpy default (metrics on) / mlserver, 1 row (goal >= 3)": ratio(
            ("mlpy +metrics", 1), ("mlserver", 1), "requests_per_s"
        ),
        "throughput mlpy default (metrics on) / mlserver, 100 rows (goal >= 3)": ratio(
            ("mlpy +metrics", 100), ("mlserver", 100), "requests_per_s"
        ),
        "throughput mlpy full / mlserver, 1 row (goal >= 3)": ratio(
            ("mlpy full", 1), ("mlserver", 1), "requests_per_s"
        ),
        "throughput mlpy full / mlserver, 100 rows (goal >= 3)": ratio(
            ("mlpy full", 100), ("mlserver", 100), "requests_per_s"
        ),
        "CPU/request mlpy full / minimal route, 1 row (goal <= 1.2)": ratio(
            ("mlpy full", 1), ("minimal orjson+predict", 1), "cpu_us_per_request"
        ),
        "CPU/request mlpy full with sklearn predict / minimal route, 1 row": ratio(
            ("mlpy full, sklearn predict", 1), ("minimal orjson+predict", 1), "cpu_us_per_request"
        ),
        "CPU/request mlpy full, log 10% / minimal route, 100 rows": ratio(
            ("mlpy full, log 10%", 100), ("minimal orjson+predict", 100), "cpu_us_per_request"
        ),
        "CPU/request mlpy full / minimal route, 100 rows": ratio(
            ("mlpy full", 100), ("minimal orjson+predict", 100), "cpu_us_per_request"
        ),
        "throughput mlpy binary tensors / JSON, 1 row": ratio(
            ("mlpy +metrics, binary", 1), ("mlpy +metrics", 1), "requests_per_s"
        ),
        "throughput mlpy binary tensors / JSON, 100 rows": ratio(
            ("mlpy +metrics, binary", 100), ("mlpy +metrics", 100), "requests_per_s"
        ),
        "throughput via router / direct (goal >= 0.5)": ratio(
            ("via router", 1), ("direct (router target)", 1), "requests_per_s"
        ),
    }
    for name, rows in (("mlpy +metrics", 1), ("mlpy +metrics", 100), ("mlpy full", 1), ("mlpy full", 100)):
        if (name, rows) in by:
            ratios[f"p99 ms of {name}, {rows} row(s) (goal <= 50)"] = by[(name, rows)].p99_ms
    bare = by.get(("mlpy bare", 1))
    prices = {}
    if bare:
        for name in ("mlpy +metrics", "mlpy +metrics+auth", "mlpy +metrics+predlog"):
            if (name, 1) in by:
                prices[name] = by[(name, 1)].cpu_us_per_request - bare.cpu_us_per_request
    if ("via router", 1) in by and ("direct (router target)", 1) in by:
        hop = by[("via router", 1)].p50_ms - by[("direct (router target)", 1)].p50_ms
        ratios["router hop added p50 ms, 16 connections"] = hop
    if ("via router, 1 connection", 1) in by and ("direct, 1 connection", 1) in by:
        hop = by[("via router, 1 connection", 1)].p50_ms - by[("direct, 1 connection", 1)].p50_ms
        ratios["router hop added p50 ms, 1 connection (goal <= 1)"] = hop
    print("\nratios")
    for name, value in ratios.items():
        print(f"  {name:<62} {'n/a' if value is None else f'{value:.2f}'}")
    if ("mlpy +metrics, binary", 1) in by:
        print(f"  note: {BINARY_NOTE}")
    print("\nprice of each feature (CPU us per 1-row request over 'mlpy bare')")
    for name, value in prices.items():
        print(f"  {name:<62} {value:+.0f} us")
    if in_process:
        print("\nprice of each feature in process (CPU us per 1-row request, ASGI call without HTTP)")
        for name, value in in_process.items():
            extra = "" if name == "bare" else f"  ({value - in_process['bare']:+.1f} us)"
            print(f"  {name:<62} {value:.1f} us{extra}")
    out = BENCH / "results" / "server_throughput.json"
    out.write_text(
        json.dumps(
            {
                "load_average": load,
                "results": [asdict(r) for r in results],
                "ratios": ratios,
                "prices_us": prices,
                "in_process_us": in_process,
            },
            indent=2,
        )
    )
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
