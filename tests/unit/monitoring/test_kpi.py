"""Business KPIs: recorded per minute, added across replicas, summarised, watched for anomalies and alerts."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, text

from mlpy.monitoring import AlertRule, MonitoringRecorder, Severity, Window, build_report, load_rules
from mlpy.monitoring.errors import InvalidEventError, InvalidRuleError, MonitoringError
from mlpy.monitoring.prometheus import exposition
from mlpy.monitoring.tables import KpiBucket, MinuteBucket
from mlpy.store import Store, open_store

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
DASHBOARD = Path(__file__).resolve().parents[3] / "deploy/compose/grafana/dashboards/mlpy.json"


def test_two_recorders_add_into_one_minute(store_url: str) -> None:
    store = open_store(store_url)
    first = MonitoringRecorder(store, flush_interval_s=1e9)
    second = MonitoringRecorder(store, flush_interval_s=1e9)  # another replica, same minute
    at = NOW - timedelta(minutes=3)
    for value in (10.0, 2.5):
        first.record_kpi("credit", 3, "revenue", value, at=at)
    first.flush()
    second.record_kpi("credit", "3", "revenue", -1.5, at=at + timedelta(seconds=20))
    second.record_kpi("credit", "3", "conversion", 1, at=at)
    second.flush()
    first.record_kpi("credit", 3, "revenue", 40.0, at=at)
    first.flush()
    with store.session() as session:
        rows = session.scalars(select(KpiBucket).order_by(KpiBucket.name)).all()
        minutes = session.scalars(select(MinuteBucket)).all()
    assert [(r.name, r.minute, r.value_n) for r in rows] == [
        ("conversion", at.replace(second=0), 1),
        ("revenue", at.replace(second=0), 4),
    ]
    revenue = rows[1]
    assert (revenue.value_sum, revenue.value_sum_sq) == pytest.approx((51.0, 100 + 6.25 + 2.25 + 1600))
    assert (revenue.value_min, revenue.value_max) == (-1.5, 40.0)
    assert minutes == []  # KPIs alone write no request rows
    [version] = build_report(store, Window.hourly, now=NOW, record_alerts=False).to_dict()["models"]
    assert (version["model"], version["version"], version["requests"]) == ("credit", "3", 0)
    figures = version["kpis"]["revenue"]
    values = [10.0, 2.5, -1.5, 40.0]
    assert figures["count"] == 4
    assert figures["sum"] == pytest.approx(51.0)
    assert figures["mean"] == pytest.approx(12.75)
    assert figures["sd"] == pytest.approx(float(np.std(values, ddof=1)))
    assert (figures["min"], figures["max"]) == (-1.5, 40.0)
    assert version["kpis"]["conversion"] == {
        "count": 1,
        "sum": 1.0,
        "mean": 1.0,
        "sd": None,
        "min": 1.0,
        "max": 1.0,
    }


def test_a_failed_flush_keeps_the_kpis_for_the_next(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = open_store(f"sqlite:///{path}")
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    recorder.record_kpi("credit", 1, "revenue", 5.0, at=NOW)
    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE monitoring_kpis RENAME TO kpis_away"))
    with pytest.raises(MonitoringError, match="cannot write monitoring data"):
        recorder.flush()
    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE kpis_away RENAME TO monitoring_kpis"))
    recorder.record_kpi("credit", 1, "revenue", 7.0, at=NOW)
    assert recorder.flush() == 1
    with store.session() as session:
        [row] = session.scalars(select(KpiBucket)).all()
    assert (row.value_n, row.value_sum, row.value_min, row.value_max) == (2, 12.0, 5.0, 7.0)


def _hour_of_revenue(store: Store, drop_at: int | None = None) -> None:
    """An hour of revenue, 10 orders a minute around 20; the orders of minute ``drop_at`` bring 2."""
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    rng = np.random.default_rng(1)
    start = NOW.replace(second=0) - timedelta(minutes=59)
    for minute in range(60):
        for _ in range(10):
            value = 2.0 if minute == drop_at else float(rng.normal(20.0, 2.0))
            recorder.record_kpi("credit", 1, "revenue", value, at=start + timedelta(minutes=minute))
    recorder.flush()


def test_an_anomaly_on_a_kpi_drop(sqlite_url: str, tmp_path: Path) -> None:
    store = open_store(sqlite_url)
    _hour_of_revenue(store, drop_at=42)
    # z > 4: sixty minutes of noise alone rarely reach it, the drop is ~28 deviations out.
    report = build_report(store, Window.hourly, now=NOW, threshold=4.0, record_alerts=False)
    [version] = report.to_dict()["models"]
    drop = (NOW.replace(second=0) - timedelta(minutes=17)).isoformat()
    assert [a["at"] for a in version["anomalies"]["kpi.revenue.mean"]] == [drop]
    assert [a["at"] for a in version["anomalies"]["kpi.revenue.sum"]] == [drop]
    assert version["anomalies"]["kpi.revenue.count"] == []  # as many orders as ever, each worth less
    assert version["anomalies"]["kpi.revenue.mean"][0]["score"] < -10
    assert version["trends"]["kpi.revenue.mean"]["points"] == 60
    steady = open_store(f"sqlite:///{tmp_path / 'steady.db'}")
    _hour_of_revenue(steady)
    calm_report = build_report(steady, Window.hourly, now=NOW, threshold=4.0, record_alerts=False)
    [calm] = calm_report.to_dict()["models"]
    assert calm["anomalies"]["kpi.revenue.mean"] == []


def test_an_alert_on_a_kpi_bound(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    for value in (4.0, 6.0, 8.0):
        recorder.record_kpi("credit", 1, "revenue", value, at=NOW)
    recorder.flush()
    [low] = load_rules([{"name": "revenue-low", "metric": "kpi.revenue.mean", "op": "<", "threshold": 10}])
    assert (low.metric, low.severity) == ("kpi.revenue.mean", Severity.warning)
    noisy = build_report(store, Window.hourly, now=NOW, rules=[low], record_alerts=False)
    assert noisy.versions[0].alerts == []  # three values are below min_requests (20)
    few = AlertRule("revenue-low", "kpi.revenue.mean", "<", 10.0, Severity.critical, min_requests=3)
    [alert] = build_report(store, Window.hourly, now=NOW, rules=[few]).versions[0].alerts
    assert alert.value == pytest.approx(6.0)
    assert alert.message == "credit v1: kpi.revenue.mean = 6 < 10"
    total = AlertRule("revenue-total", "kpi.revenue.sum", ">=", 18.0, min_requests=3)
    other = AlertRule("churn", "kpi.churn.mean", ">", 0.0, min_requests=0)  # a KPI never recorded
    fired = build_report(store, Window.hourly, now=NOW, rules=[total, other], record_alerts=False)
    assert [a.rule for a in fired.versions[0].alerts] == ["revenue-total"]
    for bad in ("kpi.revenue.median", "kpi..mean", "kpi.mean", "revenue.mean"):
        with pytest.raises(InvalidRuleError, match=r"kpi\.NAME\.FIGURE"):
            AlertRule("x", bad, "<", 1.0)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("", 1.0, "bad KPI name"),
        ("r" * 65, 1.0, "bad KPI name"),
        ("9lives", 1.0, "bad KPI name"),
        ("revenue", math.nan, "not a finite number"),
        ("revenue", math.inf, "not a finite number"),
        ("revenue", True, "not a finite number"),
        ("revenue", "12", "not a finite number"),
    ],
)
def test_bad_kpis_are_refused(sqlite_url: str, name: str, value: object, problem: str) -> None:
    recorder = MonitoringRecorder(sqlite_url, flush_interval_s=1e9)
    with pytest.raises(InvalidEventError, match=problem):
        recorder.record_kpi("credit", 1, name, value, at=NOW)  # type: ignore[arg-type]
    assert recorder.flush() == 0


def test_prometheus_exports_kpi_totals_and_the_dashboard_reads_them(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlpy.monitoring.prometheus as prometheus

    store = open_store(sqlite_url)
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    for value in (12.5, 7.5):
        recorder.record_kpi("credit", 2, "revenue", value, at=NOW)
    recorder.flush()
    monkeypatch.setattr(prometheus, "utcnow", lambda: NOW)
    text = exposition(store, Window.hourly)
    labels = '{kpi="revenue",model="credit",version="2",window="hourly"}'
    assert f"mlpy_model_window_kpi_sum{labels} 20.0" in text
    assert f"mlpy_model_window_kpi_count{labels} 2.0" in text
    assert f"mlpy_model_window_kpi_mean{labels} 10.0" in text
    emitted = set(re.findall(r"^# TYPE (\w+) gauge$", text, re.M))
    panels = json.loads(DASHBOARD.read_text())["panels"]
    [kpi_panel] = [p for p in panels if "KPI" in p["title"]]
    [target] = kpi_panel["targets"]
    assert set(re.findall(r"mlpy_\w+", target["expr"])) <= emitted
    assert "mlpy_model_window_kpi_sum" in target["expr"]
    assert "{{kpi}}" in target["legendFormat"]
