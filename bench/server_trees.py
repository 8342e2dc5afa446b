"""Serving the models people ship, side by side in one run: MLServer with its adaptive batching, and
mlpy answering with scikit-learn's predict one request at a time, then with adaptive batching.

Two models, the same joblib file for both servers (mlpy loads it with MLPY_MODEL_TRUST_PICKLE: the
file is ours):
  forest    RandomForestClassifier(n_estimators=100) on 20 numeric features (one FP64 tensor);
  pipeline  ColumnTransformer (scaling 18 numeric columns, one-hot of 2 text columns) and a
            HistGradientBoostingClassifier (one tensor per column, text as BYTES).
Single-row Open Inference Protocol v2 requests at 64 connections (wrk, one thread). MLServer gets
max_batch_size 32 and max_batch_time 5 ms; mlpy MLPY_BATCHING_MAX_ROWS=32 and 5 ms, then
MLPY_COMPILED (ONNX Runtime, used only when it agrees with scikit-learn), alone, batched, and with
--workers 2. Each row names the path that answered, as the server's GET /models/{name} reports it,
with the requests per predict call it counted; predict's share of the CPU per request is timed on
that many rows per call.

    python bench/server_trees.py            # ~5 minutes
    python bench/server_trees.py --quick    # 5 s runs
    python bench/server_throughput.py --only trees   # the same rows, as part of that benchmark

Needs wrk and bench/.venv-mlserver (bench/server_throughput.py creates it). Results are printed and
written to bench/results/server_trees.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from server_throughput import BENCH, Result, Server, ensure_mlserver, run_wrk, start

from localk8s import free_port

CONNECTIONS = 64
MLPY_ROWS = (
    "mlpy, sklearn predict",
    "mlpy, batched",
    "mlpy, compiled",
    "mlpy, compiled, batched",
    "mlpy, compiled, 2 workers",
)
NUMERIC = [f"n{i:02d}" for i in range(18)]
TEXT = ["region", "channel"]


def fit(folder: Path) -> dict[str, dict[str, Any]]:
    """Both models, saved as joblib (what MLServer's scikit-learn runtime loads, and mlpy too), with a
    one-row request for each."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(7)
    x = rng.normal(size=(5000, 20))
    forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
    forest.fit(x, (x[:, 0] + x[:, 1] > 0).astype(int))
    frame = pd.DataFrame(x[:, :18], columns=NUMERIC)
    frame["region"] = rng.choice(["north", "south", "east", "west"], 5000)
    frame["channel"] = rng.choice(["web", "shop", "phone"], 5000)
    pipeline = make_pipeline(
        make_column_transformer((StandardScaler(), NUMERIC), (OneHotEncoder(handle_unknown="ignore"), TEXT)),
        HistGradientBoostingClassifier(max_iter=100, random_state=0),
    )
    pipeline.fit(frame, (frame["n00"] > 0) & (frame["region"] != "west"))
    row = [round(0.1 * c, 3) for c in range(20)]
    columns = [{"name": n, "shape": [1], "datatype": "FP64", "data": [row[i]]} for i, n in enumerate(NUMERIC)]
    columns += [
        {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["north"]},
        {"name": "channel", "shape": [1], "datatype": "BYTES", "data": ["web"]},
    ]
    # The labels alone, from both servers: with no outputs named mlpy answers every output (the
    # protocol's rule), probabilities too, where MLServer's scikit-learn runtime answers predict.
    labels = [{"name": "predict"}]
    forest_body = {
        "inputs": [{"name": "x", "shape": [1, 20], "datatype": "FP64", "data": [row]}],
        "outputs": labels,
    }
    models = {
        "forest": (forest, forest_body),
        # MLServer decodes one tensor per column into a DataFrame when asked for the pandas codec.
        "pipeline": (pipeline, {"inputs": columns, "outputs": labels, "parameters": {"content_type": "pd"}}),
    }
    out: dict[str, dict[str, Any]] = {}
    for name, (model, body) in models.items():
        joblib_path = folder / f"{name}.joblib"
        joblib.dump(model, joblib_path)
        sha = hashlib.sha256(joblib_path.read_bytes()).hexdigest()
        out[name] = {
            "joblib": joblib_path,
            "sha": sha,
            "body": json.dumps(body).encode(),
            "model": model,
            "row": np.asarray([row]) if name == "forest" else frame.iloc[:1].reset_index(drop=True),
        }
    return out


class PredictCosts:
    """In-process microseconds of predict per request on each path, one-row requests ``rows`` to a
    call: 1 unbatched, or the requests per call a batching server counted (a batch of that many rows
    costs each of its requests its share). The compiled path falls back to scikit-learn's figures
    when the model does not compile, as the server does."""

    def __init__(self, entry: dict[str, Any]) -> None:
        from mlpy.compiled import CompileRefusedError, compile_model
        from mlpy.registry import infer_signature, selects_columns_by_name, text_categories

        model, self.one = entry["model"], entry["row"]
        one = self.one
        inputs = (infer_signature(model, one if hasattr(one, "columns") else None) or {}).get("inputs") or []
        names = [i["name"] for i in inputs] or [f"x{i}" for i in range(one.shape[1])]
        types = [i.get("type", "number") for i in inputs] or ["number"] * one.shape[1]
        by_name = hasattr(one, "columns") and selects_columns_by_name(model)
        self.predictors: dict[str, Any] = {"sklearn": model.predict}
        try:
            compiled = compile_model(model, names, types, by_name=by_name, categories=text_categories(model))
            self.predictors["compiled"] = compiled.predict
        except CompileRefusedError:
            self.predictors["compiled"] = model.predict
        self._known: dict[tuple[str, int], float] = {}

    def per_request(self, path: str, rows: int) -> float:
        """Microseconds of ``path``'s predict per request, at ``rows`` one-row requests a call."""
        import time

        import numpy as np
        import pandas as pd

        if (path, rows) not in self._known:
            one, predict = self.one, self.predictors[path]
            many = (
                pd.concat([one] * rows, ignore_index=True)
                if hasattr(one, "columns")
                else np.repeat(one, rows, axis=0)
            )
            predict(many)
            started, calls = time.perf_counter(), 0
            while time.perf_counter() - started < 1.0:
                predict(many)
                calls += 1
            self._known[(path, rows)] = (time.perf_counter() - started) / calls * 1e6 / rows
        return self._known[(path, rows)]


# Which path's predict each server row pays for.
PATH_OF = {
    "mlpy, sklearn predict": "sklearn",
    "mlpy, batched": "sklearn",
    "mlpy, compiled": "compiled",
    "mlpy, compiled, batched": "compiled",
    "mlpy, compiled, 2 workers": "compiled",
}


def start_mlserver(folder: Path, name: str, joblib_path: Path) -> Server:
    port = free_port()
    models = folder / f"mlserver-{name}"
    models.mkdir()
    (models / "model.joblib").write_bytes(joblib_path.read_bytes())
    settings = {
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": 0,
    }
    (models / "settings.json").write_text(json.dumps(settings))
    model_settings = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "max_batch_size": 32,
        "max_batch_time": 0.005,
        "parameters": {"uri": "./model.joblib", "version": "1"},
    }
    (models / "model-settings.json").write_text(json.dumps(model_settings))
    binary = ensure_mlserver()
    env = {**os.environ, "MLSERVER_PARALLEL_WORKERS": "0"}
    return start(
        f"mlserver-{name}", [str(binary), "start", str(models)], port, env, f"/v2/models/{name}/ready", models
    )


def start_mlpy(
    folder: Path, name: str, model: dict[str, Any], extra: dict[str, str], workers: int = 1
) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "MLPY_HOME": str(folder / f"home-{name}"),
        "MLPY_MODEL_URI": str(model["joblib"]),
        "MLPY_MODEL_SHA256": model["sha"],
        "MLPY_MODEL_FORMAT": "joblib",
        "MLPY_MODEL_TRUST_PICKLE": "true",  # the file this script just wrote, as MLServer loads it
        "MLPY_MODEL_NAME": name,
        "MLPY_MODEL_VERSION": "1",
        **extra,
    }
    mlpy = str(Path(sys.executable).with_name("mlpy"))
    argv = [mlpy, "serve", "--port", str(port), "--log-level", "warning", "--workers", str(workers)]
    return start(f"mlpy-{name}", argv, port, env, "/readyz")


def answering_path(server: Server, name: str) -> tuple[str, float]:
    """What the server says answered: the prediction path, and batching's requests per call (1 when
    it does not batch)."""
    import httpx

    if not server.name.startswith("mlpy"):
        return "scikit-learn predict, batched (MLServer)", 1.0
    shown = httpx.get(f"{server.url}/models/{name}", timeout=10).json()
    path = str(shown.get("prediction_path"))
    compiled = shown.get("compiled") or {}
    if compiled and not compiled.get("used"):
        path += f" (compiled refused: {str(compiled.get('reason'))[:90]})"
    batching = shown.get("batching")
    per_call = 1.0
    if batching:
        per_call = batching["requests"] / max(batching["calls"], 1)
        path += f", batched {per_call:.1f} requests per call (one worker's count)"
    return path, per_call


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 s runs instead of 15 s")
    args = parser.parse_args()
    run(5 if args.quick else 15)


def run(seconds: int) -> None:
    """Every row, each for ``seconds`` (``bench/server_throughput.py --only trees`` calls this too)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    (BENCH / "results").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="mlpy-bench-trees-"))
    models = fit(folder)
    batching = {"MLPY_BATCHING_MAX_ROWS": "32", "MLPY_BATCHING_MAX_WAIT_MS": "5"}
    compiled = {"MLPY_COMPILED": "true"}
    results: list[Result] = []
    paths: dict[str, str] = {}
    per_call: dict[str, float] = {}
    print(f"single-row OIP v2 requests, {CONNECTIONS} connections, {seconds} s per run")
    for name, model in models.items():
        path, body = f"/v2/models/{name}/infer", model["body"]
        cases: list[tuple[str, Callable[[], Server]]] = [
            ("MLServer, adaptive batching", partial(start_mlserver, folder, name, model["joblib"])),
            ("mlpy, sklearn predict", partial(start_mlpy, folder, name, model, {})),
            ("mlpy, batched", partial(start_mlpy, folder, name, model, batching)),
            ("mlpy, compiled", partial(start_mlpy, folder, name, model, compiled)),
            ("mlpy, compiled, batched", partial(start_mlpy, folder, name, model, compiled | batching)),
            ("mlpy, compiled, 2 workers", partial(start_mlpy, folder, name, model, compiled, 2)),
        ]
        for label, launch in cases:
            server = launch()
            try:
                result = run_wrk(
                    f"{name}: {label}", server, path, body, 1, seconds, folder, connections=CONNECTIONS
                )
                paths[result.scenario], per_call[result.scenario] = answering_path(server, name)
                print(f"      answered by: {paths[result.scenario]}")
            finally:
                server.stop()
            results.append(result)
    by = {r.scenario: r for r in results}
    print("\nratios (throughput over MLServer with its batching; goal >= 3 at p99 <= 50 ms), and the")
    print("share of the CPU per request that predict itself takes (timed in this process, on as many")
    print("rows per call as the server counted requests per call)")
    for name in models:
        anchor = by[f"{name}: MLServer, adaptive batching"].requests_per_s
        costs = PredictCosts(models[name])
        for label in MLPY_ROWS:
            row = by[f"{name}: {label}"]
            cost = costs.per_request(PATH_OF[label], max(1, round(per_call[row.scenario])))
            share = cost / row.cpu_us_per_request if row.cpu_us_per_request else 0.0
            print(
                f"  {name:<9} {label:<26} {row.requests_per_s / anchor:>6.2f}x  p99 {row.p99_ms:>7.1f} ms"
                f"  predict {cost:>7.0f} us of {row.cpu_us_per_request:>6.0f} us ({share:.0%})"
            )
        one, two = by[f"{name}: mlpy, compiled"], by[f"{name}: mlpy, compiled, 2 workers"]
        scaling = two.requests_per_s / one.requests_per_s
        print(f"  {name:<9} 2 workers over 1 (compiled)  {scaling:>6.2f}x  (goal >= 1.7)")
    out = BENCH / "results" / "server_trees.json"
    out.write_text(
        json.dumps(
            [
                {**asdict(r), "path": paths.get(r.scenario), "requests_per_call": per_call.get(r.scenario)}
                for r in results
            ],
            indent=2,
        )
    )
    print(f"\nwritten to {out.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
