"""A training job's grid search, one trial after another against the same search on a two-node Ray
cluster on this machine (127.0.0.1, one CPU per node, no dashboard, usage statistics off).

Anchor: the search run sequentially in this process (``grid_fit()``, one worker), the ideal being its
trial time divided by the workers. Each trial is a real scikit-learn fit (gradient boosting on the demo
credit data, about 0.3-0.5 s here), from a package this script writes, as a user's would be: Ray ships
it to the nodes. Prints the speed-up, the overhead per trial (Ray time minus ideal time, over the
trials) and a projection for larger clusters from that overhead. Run: python bench/training_search.py
(``--quick``: 8 candidates on less data, to check the script works).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mlpy.demo.data import credit_data
from mlpy.training import TrainingSpec, connect_ray, disconnect_ray, run_job, run_on_ray

CONFINEMENT = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
WORKERS = 2
PACKAGE = '''
"""The benchmark's training code: gradient boosting, its shape from the trial's parameters."""

from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score


def fit(data, params):
    train, holdout = data["train"], data["holdout"]
    features = [c for c in train.select_dtypes("number").columns if c != "default"]
    model = GradientBoostingClassifier(
        n_estimators=int(params.get("trees", 80)),
        learning_rate=float(params["learning_rate"]),
        max_depth=int(params["max_depth"]),
        subsample=float(params["subsample"]),
        min_samples_leaf=int(params.get("min_samples_leaf", 1)),
        random_state=0,
    )
    model.fit(train[features], train["default"])
    scores = model.predict_proba(holdout[features])[:, 1]
    return model, {"auc": float(roc_auc_score(holdout["default"], scores))}
'''
GRID = {
    "learning_rate": [0.05, 0.1, 0.2],
    "max_depth": [2, 3],
    "subsample": [0.7, 1.0],
    "min_samples_leaf": [1, 20],
}
QUICK_GRID = {"learning_rate": [0.05, 0.1], "max_depth": [2, 3], "subsample": [0.7, 1.0]}


def write_inputs(folder: Path, rows: int) -> dict[str, str]:
    (folder / "search_bench").mkdir()
    (folder / "search_bench" / "__init__.py").write_text(PACKAGE)
    sys.path.insert(0, str(folder))
    data = {}
    for name, count, seed in (("train", rows, 1), ("holdout", rows // 4, 2)):
        credit_data(count, seed=seed).to_parquet(folder / f"{name}.parquet")
        data[name] = str(folder / f"{name}.parquet")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 candidates, 2,000 rows, 20 trees")
    args = parser.parse_args()
    os.environ.update(CONFINEMENT)
    folder = Path(tempfile.mkdtemp(prefix="mlpy-bench-search-"))
    data = write_inputs(folder, 2_000 if args.quick else 8_000)
    spec: dict[str, Any] = {
        "entryPoint": "search_bench:fit",
        "data": data,
        "params": {"trees": 20 if args.quick else 80},
        "model": "search-bench",
        "search": {"grid": QUICK_GRID if args.quick else GRID, "metric": "auc"},
    }
    store, artifacts = f"sqlite:///{folder / 'store.db'}", str(folder / "artifacts")

    started = time.perf_counter()
    sequential = run_job(spec, store=store, artifacts=artifacts)
    sequential_job = time.perf_counter() - started
    seconds = [t["seconds"] for t in sequential["trials"]]
    trials, compute = len(seconds), sum(seconds)
    one_by_one = sequential["search"]["seconds"]

    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"},
    )
    try:
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        connect_ray(cluster.address, TrainingSpec.from_dict(spec))
        started = time.perf_counter()
        on_ray = run_on_ray(spec, store=store, artifacts=artifacts, timeout=1800)
        whole_job = time.perf_counter() - started
    finally:
        disconnect_ray()
        cluster.shutdown()  # type: ignore[no-untyped-call]
    ray_search = on_ray["search"]["seconds"]
    nodes = len({t["node"] for t in on_ray["trials"]})
    first = min(t["started"] for t in on_ray["trials"])
    last = max(t["started"] + t["seconds"] for t in on_ray["trials"])
    # The pool's workers start (a process each, the shipped code, imports) before the first trial.
    startup = max(0.0, ray_search - (last - first))
    ideal = compute / WORKERS
    overhead = (ray_search - ideal) / trials
    # What Ray adds between trials once its workers run: the span of the trials beyond their own time.
    dispatch = (last - first - sum(t["seconds"] for t in on_ray["trials"]) / WORKERS) / trials

    on_nodes = statistics.mean(t["seconds"] for t in on_ray["trials"])
    print(f"{trials} candidates; a trial {statistics.mean(seconds):.2f} s on average one after another,")
    print(f"{on_nodes:.2f} s on Ray's 2 workers (sharing this machine's cores with each other and the rest)")
    print(f"{'case':<60}{'seconds':>9}{'speed-up':>10}")
    rows = [
        ("anchor: the search, one trial after another, this process", one_by_one, 1.0),
        ("ideal: the sum of the trials over 2 workers", ideal, one_by_one / ideal),
        (f"Ray: 2 nodes x 1 CPU, trials on {nodes} node(s), the search", ray_search, one_by_one / ray_search),
        ("  of which the first trial to the last", last - first, one_by_one / (last - first)),
        ("  of which the pool's workers starting", startup, 0.0),
        ("anchor: the whole job here (read, search, register)", sequential_job, 1.0),
        ("Ray: the whole job (connected; submit to result)", whole_job, sequential_job / whole_job),
    ]
    for case, value, ratio in rows:
        print(f"{case:<60}{value:>9.2f}{ratio:>9.2f}x" if ratio else f"{case:<60}{value:>9.2f}")
    print(f"overhead per trial (the Ray search - ideal, over {trials} trials): {overhead * 1000:.0f} ms")
    print(f"  = the workers' start-up once ({startup:.2f} s) + {dispatch * 1000:.0f} ms per trial between")
    print("PROJECTION, not measured: N nodes of 1 CPU each running a trial as fast as the sequential run")
    print("did (nodes do not share CPUs), the start-up once and the overhead between trials kept serial:")
    for count in (2, 4, 8, 16, 32):
        projected = startup + compute / count + max(dispatch, 0.0) * trials
        print(f"  {count:>2} nodes: {projected:7.2f} s, {one_by_one / projected:5.2f}x the sequential search")


if __name__ == "__main__":
    main()
