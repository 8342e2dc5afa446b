"""Two OS processes flush into the same experiment at once: no update may be lost."""

from __future__ import annotations

import multiprocessing
import uuid

import pytest

from mlpy.experiments import Experiment, Variant
from mlpy.experiments.backends import open_backend

FLUSHES = 40
PER_FLUSH = 25


def _hammer(url: str, experiment: str, worker: int) -> None:
    backend = open_backend(url)
    runtime = Experiment(experiment, [Variant("A"), Variant("B")], backend=backend, refresh_interval_s=1e9)
    for flush in range(FLUSHES):
        for i in range(PER_FLUSH):
            variant = runtime.assign(f"w{worker}-{flush}-{i}")
            runtime.record(variant, 1.0)
        runtime.flush()


def _run_two_processes(url: str, experiment: str) -> None:
    context = multiprocessing.get_context(
        "fork"
    )  # the store cache is per pid, so each child opens its own pool
    workers = [context.Process(target=_hammer, args=(url, experiment, w)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
        assert worker.exitcode == 0


def _check_totals(url: str, experiment: str) -> None:
    stats = open_backend(url).load(experiment)
    expected_units = 2 * FLUSHES * PER_FLUSH
    assert sum(s.assigned for s in stats.values()) == expected_units
    assert sum(s.n for s in stats.values()) == expected_units
    assert sum(s.total for s in stats.values()) == pytest.approx(expected_units)
    assert sum(s.expected for s in stats.values()) == pytest.approx(expected_units)


def test_concurrent_flushes_lose_nothing_in_the_metadata_store(store_url: str) -> None:
    open_backend(store_url)  # migrate once, before the race
    _run_two_processes(store_url, "race")
    _check_totals(store_url, "race")


@pytest.mark.integration
def test_concurrent_flushes_lose_nothing_in_redis(redis_url: str) -> None:
    experiment = f"race-{uuid.uuid4().hex[:8]}"
    try:
        _run_two_processes(redis_url, experiment)
        _check_totals(redis_url, experiment)
    finally:
        open_backend(redis_url).clear(experiment)
