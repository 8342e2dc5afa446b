"""Shared statistics: batched atomic flushes against writing every event, and analysis from sufficient
statistics against a t-test on the raw values.

Anchors: one SQL transaction per recorded value (what a naive router does), and scipy.stats.ttest_ind on
raw arrays (what you need without sufficient statistics). Redis is included when MLPY_TEST_REDIS_URL is set.
Run: python bench/experiments_stats.py
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime

import numpy as np
from scipy import stats as sps

from mlpy.experiments import Experiment, MetricSpec, StoppingRule, Variant, VariantStats, analyse
from mlpy.experiments.backends import StatsBackend, open_backend

EVENTS = 2_000
BATCH = 100


def events_per_second(backend: StatsBackend, batch: int) -> float:
    experiment = Experiment(
        f"bench-{uuid.uuid4().hex[:6]}", [Variant("A"), Variant("B")], backend=backend, auto_refresh=False
    )
    start = time.perf_counter()
    for i in range(EVENTS):
        variant = experiment.assign(str(i))
        experiment.record(variant, 1.0)
        if (i + 1) % batch == 0:
            experiment.flush()
    experiment.flush()
    elapsed = time.perf_counter() - start
    assert sum(s.n for s in backend.load(experiment.name).values()) == EVENTS
    return EVENTS / elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        sqlite = open_backend(f"sqlite:///{folder}/bench.db")
        rows = [("SQLite", sqlite)]
        if os.environ.get("MLPY_TEST_REDIS_URL"):
            rows.append(("Redis", open_backend(os.environ["MLPY_TEST_REDIS_URL"])))
        print(f"{'flush':<44}{'events/s':>12}{'vs anchor':>11}")
        for label, backend in rows:
            anchor = events_per_second(backend, 1)
            batched = events_per_second(backend, BATCH)
            print(f"{f'anchor: {label}, one write per event':<44}{anchor:>12.0f}{1.0:>10.2f}x")
            name = f"{label}, atomic flush every {BATCH} events"
            print(f"{name:<44}{batched:>12.0f}{batched / anchor:>10.2f}x")

    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1.0, 200_000), rng.normal(1.01, 1.0, 200_000)
    stats = {"A": VariantStats.of(a), "B": VariantStats.of(b)}
    now = datetime.now(UTC)
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        sps.ttest_ind(b, a, equal_var=False)
    anchor = (time.perf_counter() - start) / rounds
    start = time.perf_counter()
    for _ in range(rounds):
        analyse(stats, MetricSpec(), StoppingRule(), now, now)
    ours = (time.perf_counter() - start) / rounds
    print(f"{'analysis (200k values per arm)':<44}{'ms':>12}{'vs anchor':>11}")
    print(f"{'anchor: scipy ttest_ind on raw values':<44}{anchor * 1e3:>12.3f}{1.0:>10.2f}x")
    print(f"{'analyse() on sufficient statistics':<44}{ours * 1e3:>12.3f}{ours / anchor:>10.4f}x")


if __name__ == "__main__":
    main()
