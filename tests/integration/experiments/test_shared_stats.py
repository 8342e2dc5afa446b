"""Two OS processes flush into the same experiment at once: no update may be lost, no read may wait."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import update

from mlpy.experiments import Experiment, Variant
from mlpy.experiments.backends import open_backend
from mlpy.experiments.sql_stats import SqlStats
from mlpy.experiments.stats import VariantStats
from mlpy.experiments.tables import VariantStatsRow

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


def _run_two_processes(url: str, experiment: str, target: Any = _hammer) -> None:
    # Forked: the store cache is per pid, so each child opens its own pool.
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=target, args=(url, experiment, w)) for w in range(2)]
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


def _hold_a_flush(url: str, experiment: str, holding: Any, release: Any) -> None:
    """A router mid-flush: its write transaction stays open until ``release`` is set."""
    backend = open_backend(url)
    assert isinstance(backend, SqlStats)
    with backend.store.session() as session:
        session.execute(
            update(VariantStatsRow)
            .where(VariantStatsRow.experiment == experiment)
            .values(n=VariantStatsRow.n + 5)
        )
        holding.set()
        release.wait(timeout=120)


def test_reading_statistics_never_waits_for_a_flush_in_progress(store_url: str) -> None:
    """The operator's read of the totals returns at once while a router process holds a write transaction
    (on SQLite, a read that began IMMEDIATE waited out the whole flush, up to the busy timeout)."""
    backend = open_backend(store_url)
    backend.add("held", {"A": VariantStats(n=1), "B": VariantStats(n=1)})
    context = multiprocessing.get_context("fork")
    holding, release = context.Event(), context.Event()
    router = context.Process(target=_hold_a_flush, args=(store_url, "held", holding, release))
    router.start()
    try:
        assert holding.wait(timeout=60)
        read: list[dict[str, VariantStats]] = []
        reader = threading.Thread(target=lambda: read.append(backend.load("held")))
        reader.start()
        reader.join(timeout=5)
        in_time = not reader.is_alive()
    finally:
        release.set()
        router.join(timeout=60)
    reader.join(timeout=120)
    assert router.exitcode == 0
    assert in_time, "the read waited for the writer's transaction"
    assert {name: s.n for name, s in read[0].items()} == {"A": 1, "B": 1}  # the committed totals only
    assert {name: s.n for name, s in backend.load("held").items()} == {"A": 6, "B": 6}


PUBLISHES = 30


def _publish(url: str, experiment: str, worker: int) -> None:
    backend = open_backend(url)
    for i in range(PUBLISHES):
        backend.publish_weights(experiment, {"A": float(worker), "B": float(i + 1)}, "basis")


def _race_publications(url: str, experiment: str) -> None:
    """Two processes publish weights at once: every publication gets its own revision, and the
    weights stored are those of the newest."""
    open_backend(url)  # migrate once, before the race
    _run_two_processes(url, experiment, _publish)
    published = open_backend(url).published_weights(experiment)
    assert published is not None
    assert published.revision == 2 * PUBLISHES
    assert published.basis == "basis"
    assert published.weights["B"] == PUBLISHES  # the last of one of the two writers


def test_concurrent_publications_of_weights_each_get_a_revision_in_the_metadata_store(store_url: str) -> None:
    _race_publications(store_url, f"weights-{uuid.uuid4().hex[:8]}")


@pytest.mark.integration
def test_concurrent_publications_of_weights_each_get_a_revision_in_redis(redis_url: str) -> None:
    experiment = f"weights-{uuid.uuid4().hex[:8]}"
    try:
        _race_publications(redis_url, experiment)
        backend = open_backend(redis_url)
        backend.clear(experiment)
        assert backend.published_weights(experiment) is None
        assert backend.publish_weights(experiment, {"A": 1.0}, "basis") == 2 * PUBLISHES + 1
    finally:
        open_backend(redis_url).clear(experiment)
