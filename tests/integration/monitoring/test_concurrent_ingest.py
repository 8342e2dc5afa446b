"""Two server processes flush into the same minutes at once: the upserts add, no request or KPI is lost."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

from mlpy.monitoring import MonitoringRecorder, Window, build_report
from mlpy.store import open_store

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
FLUSHES = 30
PER_FLUSH = 20


def _serve(url: str) -> None:
    recorder = MonitoringRecorder(url, flush_interval_s=1e9)
    for flush in range(FLUSHES):
        at = NOW - timedelta(minutes=flush % 3)  # the two processes collide on the same three minutes
        for i in range(PER_FLUSH):
            recorder.record_request("m", 1, 0.01 * (1 + i % 4), error=i == 0, prediction=1.0, at=at)
            recorder.record_kpi("m", 1, "revenue", 0.5 * (1 + i % 4), at=at)
        recorder.flush()


def test_concurrent_recorders_lose_nothing(store_url: str) -> None:
    store = open_store(store_url)  # migrate before the race
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_serve, args=(store_url,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
        assert worker.exitcode == 0
    [version] = build_report(store, Window.hourly, now=NOW, record_alerts=False).versions
    totals = version.window.totals
    assert totals.requests == 2 * FLUSHES * PER_FLUSH
    assert totals.errors == 2 * FLUSHES
    assert sum(totals.bins.values()) == totals.requests
    assert totals.latency_max == 0.04
    revenue = totals.kpis["revenue"]
    assert revenue.n == totals.requests
    assert revenue.total == 2 * FLUSHES * (PER_FLUSH // 4) * (0.5 + 1.0 + 1.5 + 2.0)
    assert (revenue.low, revenue.high) == (0.5, 2.0)
