"""Buckets on SQLite and PostgreSQL: what goes in comes out, whoever wrote it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from mlpy.monitoring import MonitoringRecorder, Window
from mlpy.monitoring.errors import InvalidEventError
from mlpy.monitoring.report import build_report
from mlpy.store import open_store

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


def test_figures_round_trip_and_replicas_add_up(store_url: str) -> None:
    store = open_store(store_url)
    first = MonitoringRecorder(store, flush_interval_s=1e9)
    second = MonitoringRecorder(store, flush_interval_s=1e9)  # another replica, same minute
    at = NOW - timedelta(minutes=5)
    for recorder, latency, error in ((first, 0.1, False), (second, 0.3, True)):
        recorder.record_request("m", "2", latency, error=error, prediction=2.0 if error else 1.0, at=at)
        recorder.record_outcome("m", "2", prediction=1.0, outcome=3.0, at=at)
        recorder.flush()
    first.record_request("m", "2", 0.2, at=at)
    first.flush()
    report = build_report(store, Window.hourly, now=NOW, record_alerts=False)
    [version] = report.to_dict()["models"]
    assert (version["model"], version["version"], version["requests"], version["errors"]) == ("m", "2", 3, 1)
    assert version["error_rate"] == pytest.approx(1 / 3)
    assert version["latency_mean"] == pytest.approx(0.2)
    assert version["latency_max"] == pytest.approx(0.3)
    assert version["prediction_mean"] == pytest.approx(1.5)
    assert version["rmse"] == pytest.approx(2.0)
    assert version["mae"] == pytest.approx(2.0)
    assert 0.1 <= version["latency_p50"] <= 0.3


def test_windows_include_only_their_span(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    for age in (timedelta(minutes=30), timedelta(hours=5), timedelta(days=3), timedelta(days=10)):
        recorder.record_request("m", 1, 0.01, at=NOW - age)
    recorder.flush()
    counts = {}
    for window in Window:
        models = build_report(store, window, now=NOW, record_alerts=False).to_dict()["models"]
        counts[window] = models[0]["requests"] if models else 0
    assert counts == {Window.hourly: 1, Window.daily: 2, Window.weekly: 3}
    series = build_report(store, Window.daily, now=NOW, record_alerts=False).versions[0].window.series
    assert len(series["requests"]) == 144
    assert sum(v or 0 for v in series["requests"]) == 2


def test_bad_events_are_refused(sqlite_url: str) -> None:
    recorder = MonitoringRecorder(sqlite_url)
    with pytest.raises(InvalidEventError, match="latency"):
        recorder.record_request("m", 1, -1.0)
    with pytest.raises(InvalidEventError, match="not finite"):
        recorder.record_request("m", 1, 0.1, prediction=math.nan)
    with pytest.raises(InvalidEventError, match="time zone"):
        recorder.record_request("m", 1, 0.1, at=datetime(2026, 1, 1))
    with pytest.raises(InvalidEventError, match="finite"):
        recorder.record_outcome("m", 1, 1.0, math.inf)


def test_time_flush_happens_on_its_own(sqlite_url: str) -> None:
    ticks = [0.0]
    recorder = MonitoringRecorder(sqlite_url, flush_interval_s=5.0, clock=lambda: ticks[0])
    recorder.record_request("m", 1, 0.1, at=NOW)
    assert build_report(recorder.store, Window.hourly, now=NOW, record_alerts=False).versions == []
    ticks[0] = 6.0
    recorder.record_request("m", 1, 0.1, at=NOW)
    assert (
        build_report(recorder.store, Window.hourly, now=NOW, record_alerts=False)
        .versions[0]
        .window.totals.requests
        == 2
    )
