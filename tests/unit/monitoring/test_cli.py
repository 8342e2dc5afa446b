from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from mlpy.cli.main import main
from mlpy.store import Store


def _args(store: Store, *rest: str) -> list[str]:
    return ["monitor", "--store", store.url, *rest]


def test_report_json(traffic_store: Store, now: datetime, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(_args(traffic_store, "report", "--window", "hourly", "--now", now.isoformat(), "-o", "json"))
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["window"] == "hourly"
    [model] = data["models"]
    assert model["requests"] == 1200
    assert {"latency_p95", "error_rate", "rmse", "anomalies", "trends", "alerts"} <= set(model)


def test_report_text_with_rules_file(
    traffic_store: Store, now: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - {name: slow, metric: latency_p99, op: '>', threshold: 0.2, severity: critical}\n"
    )
    argv = _args(
        traffic_store, "report", "--window", "daily", "--now", now.isoformat(), "--rules", str(rules)
    )
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ranker" in out
    assert "alert (critical)" in out
    assert "slow" in out
    assert main(_args(traffic_store, "alerts", "-o", "json")) == 0
    [alert] = json.loads(capsys.readouterr().out)["items"]
    assert alert["rule"] == "slow"


def test_metrics_command(traffic_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(traffic_store, "metrics", "--window", "weekly")) == 0
    assert "# HELP mlpy_model_window_requests" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["report", "--window", "monthly"], 2, "--window"),
        (["report", "--now", "yesterday"], 1, "bad --now"),
        (["report", "--rules", "/nonexistent.yaml"], 1, "cannot read rules"),
        (["alerts", "--state", "sleeping"], 1, "unknown state"),
    ],
)
def test_bad_input_is_one_line_error(
    traffic_store: Store, capsys: pytest.CaptureFixture[str], extra: list[str], code: int, message: str
) -> None:
    assert main(_args(traffic_store, *extra)) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1


def test_real_subprocess_run(traffic_store: Store, now: datetime) -> None:
    mlpy = Path(sys.executable).parent / "mlpy"
    done = subprocess.run(
        [
            str(mlpy),
            *_args(traffic_store, "report", "--window", "hourly", "--now", now.isoformat(), "-o", "json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["models"][0]["model"] == "ranker"


def test_report_shows_kpis_and_their_alerts(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC

    from mlpy.monitoring import MonitoringRecorder
    from mlpy.store import open_store

    store = open_store(sqlite_url)
    at = datetime(2026, 11, 27, 11, 30, tzinfo=UTC)
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    for value in (4.0, 6.0, 11.0):
        recorder.record_kpi("credit", 1, "revenue", value, at=at)
    recorder.record_kpi("credit", 1, "revenue", 2.0)  # now: in the metrics' window, not the report's
    recorder.flush()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- {name: revenue-low, metric: kpi.revenue.mean, op: '<', threshold: 10, min_requests: 3}\n"
    )
    argv = _args(
        store, "report", "--window", "hourly", "--now", "2026-11-27T12:00:00Z", "--rules", str(rules)
    )
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "business KPIs" in out
    [row] = [
        line for line in out.splitlines() if "revenue" in line and "credit" in line and "kpi." not in line
    ]
    assert row.replace("│", " ").split() == ["credit", "1", "revenue", "3", "21", "7", "3.606", "4", "11"]
    assert "kpi.revenue.mean = 7 < 10" in out
    assert main(_args(store, "metrics", "--window", "hourly")) == 0
    assert "mlpy_model_window_kpi_sum{" in capsys.readouterr().out
