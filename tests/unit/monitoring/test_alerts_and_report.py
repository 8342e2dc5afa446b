from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mlpy.monitoring import AlertRule, Severity, Window, build_report
from mlpy.monitoring.alerts import AlertLog
from mlpy.monitoring.anomaly import Method
from mlpy.monitoring.errors import InvalidRuleError
from mlpy.monitoring.prometheus import exposition
from mlpy.store import Store

RULE = AlertRule("errors", "error_rate", ">", 0.05, Severity.critical)


def test_report_finds_the_spike_and_the_error_rate(traffic_store: Store, now: datetime) -> None:
    report = build_report(traffic_store, Window.hourly, now=now, record_alerts=False)
    [version] = report.to_dict()["models"]
    assert version["requests"] == 1200
    assert version["errors"] == 10
    spike_time = (now.replace(second=0) - timedelta(minutes=29)).isoformat()
    assert [a["at"] for a in version["anomalies"]["latency_mean"]] == [spike_time]
    assert [a["at"] for a in version["anomalies"]["error_rate"]] == [spike_time]
    assert version["mae"] == pytest.approx(0.5)
    iqr = build_report(traffic_store, Window.hourly, now=now, method=Method.iqr, record_alerts=False)
    assert spike_time in [a["at"] for a in iqr.to_dict()["models"][0]["anomalies"]["latency_mean"]]


def test_alerts_are_deduplicated_and_resolved(traffic_store: Store, now: datetime) -> None:
    log = AlertLog(traffic_store)
    high = {"requests": 100, "error_rate": 0.1}
    first = log.sync("ranker", "1", [RULE], high, now)
    again = log.sync("ranker", "1", [RULE], {"requests": 100, "error_rate": 0.2}, now + timedelta(minutes=1))
    assert len(first) == len(again) == 1
    assert first[0].id == again[0].id
    assert again[0].occurrences == 2
    assert again[0].value == pytest.approx(0.2)
    assert len(log.list("firing")) == 1
    assert log.sync("ranker", "1", [RULE], {"requests": 100, "error_rate": 0.01}, now) == []
    assert log.list("firing") == []
    assert [a.state for a in log.list(None)] == ["resolved"]
    reopened = log.sync("ranker", "1", [RULE], high, now + timedelta(minutes=5))
    assert reopened[0].id != first[0].id  # a new episode
    # too little traffic never fires
    assert log.sync("other", "1", [RULE], {"requests": 3, "error_rate": 1.0}, now) == []


def test_report_records_alerts_once_per_episode(traffic_store: Store, now: datetime) -> None:
    rules = [AlertRule("slow", "latency_p99", ">", 0.2, Severity.warning)]
    for _ in range(3):
        report = build_report(traffic_store, Window.hourly, now=now, rules=rules)
    [alert] = report.versions[0].alerts
    assert alert.occurrences == 3
    assert len(AlertLog(traffic_store).list("firing")) == 1


def test_bad_rules() -> None:
    with pytest.raises(InvalidRuleError, match="unknown metric 'latency'"):
        AlertRule("x", "latency", ">", 1.0)
    with pytest.raises(InvalidRuleError, match="unknown operator"):
        AlertRule("x", "error_rate", "!=", 1.0)
    with pytest.raises(InvalidRuleError, match="bad alert rule"):
        AlertRule.from_dict({"name": "x", "metric": "error_rate", "threshold": "high"})


def test_prometheus_exposition(traffic_store: Store, now: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlpy.monitoring.prometheus as prometheus

    monkeypatch.setattr(prometheus, "utcnow", lambda: now)
    AlertLog(traffic_store).sync("ranker", "1", [RULE], {"requests": 100, "error_rate": 0.1}, now)
    text = exposition(traffic_store, Window.hourly)
    assert "# TYPE mlpy_model_window_requests gauge" in text
    assert 'mlpy_model_window_requests{model="ranker",version="1",window="hourly"} 1200.0' in text
    assert 'mlpy_model_window_error_rate{model="ranker",version="1",window="hourly"} 0.00833' in text
    assert (
        'mlpy_model_window_latency_seconds{model="ranker",quantile="0.95",version="1",window="hourly"}'
        in text
    )
    assert 'mlpy_model_alerts_firing{model="ranker",severity="critical",version="1"} 1.0' in text
