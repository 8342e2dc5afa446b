"""Pushing the figures to a real Prometheus Pushgateway and reading them back from it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from mlpy.cli.main import main
from mlpy.monitoring import MonitoringRecorder, Window
from mlpy.monitoring.errors import ExportError
from mlpy.monitoring.prometheus import push
from mlpy.store import open_store, utcnow

pytestmark = pytest.mark.integration


def test_push_and_read_back(pushgateway_url: str, sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    model = f"pushed-{uuid.uuid4().hex[:8]}"
    for _ in range(7):
        recorder.record_request(model, 3, 0.02, at=utcnow() - timedelta(minutes=1))
    recorder.flush()
    job = f"mlpy-test-{uuid.uuid4().hex[:8]}"
    try:
        push(store, pushgateway_url, Window.hourly, job)
        text = httpx.get(f"{pushgateway_url}/metrics", timeout=10).text
        line = next(
            line
            for line in text.splitlines()
            if line.startswith("mlpy_model_window_requests{") and model in line
        )
        assert f'job="{job}"' in line
        assert line.rstrip().endswith(" 7")
    finally:
        httpx.delete(f"{pushgateway_url}/metrics/job/{job}", timeout=10)


def test_push_to_a_dead_gateway_is_a_one_line_error(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ExportError, match="cannot push"):
        push(open_store(sqlite_url), "http://127.0.0.1:9", Window.hourly)
    assert main(["monitor", "--store", sqlite_url, "push", "--gateway", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err.startswith("error: cannot push to the Pushgateway")
