"""``POST /kpi``: recorded for monitoring by a serving server, counted for the experiment by a router."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from mlpy.monitoring import Window, build_report
from mlpy.store import open_store
from mlpy_server import ServerSettings
from mlpy_server.kpi import unit_claim
from tests.unit.server.test_router_replicas import ADMIN, APP, half_and_half, replica_pair, stats_url, totals

__all__ = ["stats_url"]  # the statistics backends, SQLite, PostgreSQL and Redis, as the replica tests


def test_a_serving_server_records_kpis_for_monitoring(make_client: Callable[..., TestClient]) -> None:
    client = make_client(monitoring=True)
    answer = client.post("/predict", json={"features": [1, 2, 3]})
    request_id = answer.json()["request_id"]
    for body in (
        {"name": "revenue", "value": 12.5, "request_id": request_id},
        {"name": "revenue", "value": 7, "unit_id": "user-7", "model": "lin"},
        {"name": "conversion", "value": 1, "request_id": request_id, "model": "lin@production"},
    ):
        response = client.post("/kpi", json=body)
        assert response.status_code == 202, response.text
        got = response.json()
        assert (got["model"], got["version"], got["recorded"], got["counted"]) == ("lin", "1", True, False)
        assert got["name"] == body["name"]
    state = client.app.state.mlpy  # type: ignore[attr-defined]
    state.monitoring.flush()
    report = build_report(open_store(state.settings.locations.store), Window.hourly, record_alerts=False)
    [version] = report.to_dict()["models"]
    assert (version["model"], version["version"], version["requests"]) == ("lin", "1", 1)
    assert version["kpis"]["revenue"]["count"] == 2
    assert version["kpis"]["revenue"]["sum"] == pytest.approx(19.5)
    assert version["kpis"]["conversion"]["mean"] == 1.0


def test_without_monitoring_a_kpi_is_accepted_but_not_recorded(client: TestClient) -> None:
    response = client.post("/kpi", json={"name": "revenue", "value": 3.0, "unit_id": "u1"})
    assert response.status_code == 202
    assert response.json()["recorded"] is False


@pytest.mark.parametrize(
    ("body", "status", "field", "says"),
    [
        (b'{"name": "revenue", "value": NaN, "request_id": "r"}', 400, None, "not valid JSON"),
        (b'{"name": "revenue", "value": Infinity, "request_id": "r"}', 400, None, "not valid JSON"),
        (b'{"name": "revenue", "value": 1e999, "request_id": "r"}', 400, None, "not valid JSON"),
        (b"[1, 2]", 400, None, "must be a JSON object"),
        ({"name": "revenue", "value": "12.5", "request_id": "r"}, 422, "value", "number"),
        ({"name": "revenue", "value": True, "request_id": "r"}, 422, "value", "number"),
        ({"name": "revenue", "request_id": "r"}, 422, "value", "required"),
        ({"name": "", "value": 1, "request_id": "r"}, 422, "name", "at least 1"),
        ({"name": "r" * 65, "value": 1, "request_id": "r"}, 422, "name", "at most 64"),
        ({"name": "9 lives", "value": 1, "request_id": "r"}, 422, "name", "pattern"),
        ({"value": 1, "request_id": "r"}, 422, "name", "required"),
        ({"name": "revenue", "value": 1}, 422, "request_id", "exactly one"),
        ({"name": "revenue", "value": 1, "request_id": "r", "unit_id": "u"}, 422, "request_id", "one of"),
        ({"name": "revenue", "value": 1, "request_id": "r" * 65}, 422, "request_id", "at most 64"),
        ({"name": "revenue", "value": 1, "request_id": "r", "values": 2}, 422, "values", "not permitted"),
        ({"name": "revenue", "value": 1, "request_id": "r", "model": "credit"}, 404, None, "credit"),
        ({"name": "revenue", "value": 1, "request_id": "r", "model": "lin:2"}, 404, None, "lin:2"),
    ],
)
def test_bad_kpis_are_4xx_naming_the_problem(
    make_client: Callable[..., TestClient], body: Any, status: int, field: str | None, says: str
) -> None:
    client = make_client(monitoring=True)
    if isinstance(body, bytes):
        response = client.post("/kpi", content=body, headers={"content-type": "application/json"})
    else:
        response = client.post("/kpi", json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert says in error["error"]
    if field is not None:
        assert error["field"] == field
    assert client.app.state.mlpy.monitoring.flush() == 0  # type: ignore[attr-defined]


@pytest.fixture
def kpi_replicas(
    tmp_path: Path,
    stats_url: str,
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[..., Any],
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two router replicas on one backend, for an experiment whose metric is the KPI ``revenue``."""
    name = f"kpi-{time.time_ns()}"
    path = half_and_half(tmp_path, name, make_settings, serve_app)
    document = yaml.safe_load(path.read_text())
    document["spec"]["metric"] = {"name": "revenue", "goal": "maximize", "type": "mean", "source": "kpi"}
    document["spec"]["stopping"] = {"minSamplesPerVariant": 10, "confidence": 0.95}
    path.write_text(yaml.safe_dump(document))
    with replica_pair(path, name, stats_url) as pair:
        yield pair


def test_an_experiment_on_a_kpi_counts_it_once_and_decides(
    kpi_replicas: tuple[TestClient, TestClient],
) -> None:
    one, two = kpi_replicas
    rng = np.random.default_rng(3)
    mean = {"A": 10.0, "B": 30.0}  # B, the candidate, brings three times the revenue
    expected = {"A": (0, 0.0), "B": (0, 0.0)}
    for unit in range(60):
        answer = one.post("/predict", json={"features": [1, 2, 3], "unit_id": f"u{unit}"}, headers=APP)
        assert answer.status_code == 200, answer.text
        request_id, variant = answer.json()["request_id"], answer.headers["x-mlpy-variant"]
        value = round(float(rng.normal(mean[variant], 2.0)), 2)
        body = {"name": "revenue", "value": value, "request_id": request_id}
        first = two.post("/kpi", json=body, headers=APP)  # the replica that did not route it
        assert first.status_code == 202, first.text
        assert (first.json()["variant"], first.json()["counted"]) == (variant, True)
        for client in (two, one):  # repeats, on either replica, count nothing
            assert client.post("/kpi", json=body, headers=APP).json()["counted"] is False
        other = one.post("/kpi", json={**body, "name": "clicks"}, headers=APP)  # not the experiment's metric
        assert (other.status_code, other.json()["counted"]) == (202, False)
        n, total = expected[variant]
        expected[variant] = (n + 1, total + value)
    assert min(n for n, _ in expected.values()) >= 10
    deadline = time.monotonic() + 10
    while {k: (n, round(s, 6)) for k, (n, s) in totals(one).items()} != {
        k: (n, round(s, 6)) for k, (n, s) in expected.items()
    }:
        assert time.monotonic() < deadline, (totals(one), expected)
        time.sleep(0.2)
    verdict = one.get("/experiment", headers=ADMIN).json()["analysis"]
    assert (verdict["decision"], verdict["winner"]) == ("ship", "B")
    feedback = one.post("/feedback", json={"request_id": request_id, "value": 1.0}, headers=APP)
    assert feedback.status_code == 422
    assert "POST /kpi" in feedback.json()["error"]


def test_a_unit_kpi_credits_the_units_variant_once(kpi_replicas: tuple[TestClient, TestClient]) -> None:
    one, two = kpi_replicas
    routed = one.post("/predict", json={"features": [1, 2, 3], "unit_id": "shopper-1"}, headers=APP)
    variant = routed.headers["x-mlpy-variant"]
    body = {"name": "revenue", "value": 42.0, "unit_id": "shopper-1"}
    first = two.post("/kpi", json=body, headers=APP)
    assert first.status_code == 202, first.text
    assert (first.json()["variant"], first.json()["counted"]) == (variant, True)
    assert one.post("/kpi", json={**body, "value": 5.0}, headers=APP).json()["counted"] is False
    deadline = time.monotonic() + 10
    while totals(one)[variant] != (1, 42.0):
        assert time.monotonic() < deadline, totals(one)
        time.sleep(0.2)
    assert len(unit_claim("x" * 128)) <= 64  # fits the claims of request ids
    unknown = two.post("/kpi", json={"name": "revenue", "value": 1.0, "request_id": "never"}, headers=APP)
    assert unknown.status_code == 404
    assert "was not routed" in unknown.json()["error"]
    assert two.post("/kpi", json=body).status_code == 401
