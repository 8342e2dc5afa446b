"""Two router replicas on one statistics backend: feedback counts once, on whichever replica receives it.

Each routed response carries a request id naming its variant, signed with a key the replicas share
through the backend; feedback claims its request id there, so duplicates never count twice.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from mlpy.audit import AuditLog
from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key
from tests.unit.server.test_router import wait_upstreams

ADMIN = {"X-API-Key": "ops"}
APP = {"X-API-Key": "app"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration),
                        pytest.param("redis", marks=pytest.mark.integration)])  # fmt: skip
def stats_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stats.db'}"
    elif request.param == "postgres":
        yield str(request.getfixturevalue("postgres_url"))
    else:
        yield str(request.getfixturevalue("redis_url"))


def half_and_half(
    folder: Path, name: str, make_settings: Callable[..., ServerSettings], serve_app: Callable[..., Any]
) -> Path:
    """Variant A on lin v1 and B on lin v2, each a real server, in an experiment file split 50/50."""
    variants = {
        v: serve_app(create_app(make_settings(models=(m,)))).url for v, m in (("A", "lin:1"), ("B", "lin:2"))
    }
    wait_upstreams(variants)
    spec = {
        "strategy": "weighted",
        "metric": {"name": "converted", "goal": "maximize", "type": "proportion"},
        "variants": [{"name": v, "weight": 1, "upstream": url} for v, url in variants.items()],
    }
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": name, "spec": spec}))
    return path


@pytest.fixture
def replicas(
    tmp_path: Path,
    stats_url: str,
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[..., Any],
) -> Iterator[tuple[TestClient, TestClient]]:
    name = f"exp-{time.time_ns()}"
    with replica_pair(half_and_half(tmp_path, name, make_settings, serve_app), name, stats_url) as pair:
        yield pair


@contextlib.contextmanager
def replica_pair(path: Path, name: str, stats_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    """Two routers for the experiment file ``path`` on one backend; its Redis keys removed after."""
    settings = ServerSettings(
        experiment=str(path),
        experiment_stats_url=stats_url,
        api_keys=(f"ops:admin:{hash_key('ops')}", f"app:predict:{hash_key('app')}"),
    )
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        yield one, two
    if stats_url.startswith("redis://"):
        import redis

        client = redis.Redis.from_url(stats_url)
        for key in client.scan_iter(f"*{name}*"):
            client.delete(key)


def totals(client: TestClient) -> dict[str, tuple[int, float]]:
    variants = client.get("/experiment", headers=ADMIN).json()["variants"]
    return {v["name"]: (v["stats"]["n"], v["stats"]["sum"]) for v in variants}


def test_feedback_counts_once_on_any_replica(replicas: tuple[TestClient, TestClient]) -> None:
    one, two = replicas
    served: dict[str, str] = {}
    for unit in range(30):
        answer = one.post("/predict", json={"features": [1, 2, 3], "unit_id": f"u{unit}"}, headers=APP)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"] == answer.json()["request_id"]
        served[answer.json()["request_id"]] = answer.headers["x-mlpy-variant"]
    assert set(served.values()) == {"A", "B"}
    expected = {v: (0, 0.0) for v in ("A", "B")}
    for request_id, variant in served.items():
        value = 1.0 if variant == "A" else 0.0
        n, total = expected[variant]
        expected[variant] = (n + 1, total + value)
        # The replica that did not route it, then a repeat there and one on the router that did.
        first = two.post("/feedback", json={"request_id": request_id, "value": value}, headers=APP)
        assert first.status_code == 202, first.text
        assert first.json()["variant"] == variant
        assert first.json()["counted"] is True
        for client in (two, one):
            again = client.post("/feedback", json={"request_id": request_id, "value": value}, headers=APP)
            assert again.status_code == 202
            assert again.json()["counted"] is False
    deadline = time.monotonic() + 10
    while totals(one) != expected or totals(two) != expected:
        assert time.monotonic() < deadline, (totals(one), totals(two), expected)
        time.sleep(0.2)


def test_clients_cannot_choose_the_variant_they_credit(replicas: tuple[TestClient, TestClient]) -> None:
    one, two = replicas
    answer = one.post("/predict", json={"features": [1, 2, 3]}, headers=APP)
    request_id, variant = answer.json()["request_id"], answer.headers["x-mlpy-variant"]
    other = "B" if variant == "A" else "A"
    base, _, tail = request_id.rpartition(".")
    forged = f"{base}.v{1 if variant == 'A' else 0}{tail[2:]}"
    refused = two.post("/feedback", json={"request_id": forged, "value": 1.0}, headers=APP)
    assert refused.status_code == 404
    assert "was not routed by experiment" in refused.json()["error"]
    mismatch = two.post(
        "/feedback", json={"request_id": request_id, "value": 1.0, "variant": other}, headers=APP
    )
    assert mismatch.status_code == 422
    assert f"served by variant {variant!r}" in mismatch.json()["error"]
    named = {"request_id": "from-the-warehouse-1", "value": 1.0, "variant": "B"}
    assert two.post("/feedback", json=named, headers=APP).status_code == 403
    credited = two.post("/feedback", json=named, headers=ADMIN)
    assert credited.status_code == 202
    assert credited.json() == {
        **{k: named[k] for k in ("request_id", "variant")},
        "logged": False,
        "counted": True,
    }
    assert two.post("/feedback", json=named, headers=ADMIN).json()["counted"] is False


def test_weights_set_on_one_replica_reach_the_other_within_a_refresh(
    replicas: tuple[TestClient, TestClient], stats_url: str
) -> None:
    one, two = replicas
    for setter, follower, weights in ((one, two, {"A": 0.0, "B": 1.0}), (two, one, {"A": 1.0, "B": 0.0})):
        answer = setter.put("/experiment/weights", json={"weights": weights}, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert answer.json()["weights"] == weights
        started = time.monotonic()
        while follower.get("/experiment", headers=ADMIN).json()["weights"] != weights:
            assert time.monotonic() - started < 5, "the other replica did not follow within 5 s"
            time.sleep(0.1)
        assert time.monotonic() - started < 2.5  # one refresh (a second), with room for a busy machine
        only = max(weights, key=lambda v: weights[v])
        for unit in range(10):
            routed = follower.post(
                "/predict", json={"features": [1, 2, 3], "unit_id": f"u{unit}"}, headers=APP
            )
            assert routed.headers["x-mlpy-variant"] == only
    if not stats_url.startswith("redis://"):
        # A SQL store also keeps who set each split, in the audit log's transaction of the change.
        changes = AuditLog(stats_url).entries(action="experiment.weights")
        assert [(e.actor, e.from_value, e.to_value) for e in changes] == [
            ("ops (API key)", None, "A=0 B=1"),
            ("ops (API key)", "A=0 B=1", "A=1 B=0"),
        ]


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["postgres", "redis"])
def test_two_router_processes_share_feedback_and_weights_exactly(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[..., Any],
) -> None:
    """Two ``mlpy serve`` router processes on one backend, as two pods are: feedback sent to the one
    that did not route the request counts once however often it is repeated, on either; weights set
    on one reach the other (the in-process replicas above also cover SQLite)."""
    stats_url = str(request.getfixturevalue(f"{backend}_url"))
    import os
    import subprocess
    import sys

    import httpx

    from localk8s import free_port

    path = half_and_half(tmp_path, f"procs-{time.time_ns()}", make_settings, serve_app)
    env = {
        **os.environ,
        "MLPY_EXPERIMENT": str(path),
        "MLPY_EXPERIMENT_STATS": stats_url,
        "MLPY_API_KEYS": f"ops:admin:{hash_key('ops')},app:predict:{hash_key('app')}",
        "MLPY_HOME": str(tmp_path / "home"),
    }
    mlpy = str(Path(sys.executable).with_name("mlpy"))
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen([mlpy, "serve", "--port", str(p), "--log-level", "warning"], env=env) for p in ports
    ]
    one, two = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        for url in (one, two):
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"router {url} not ready"
                time.sleep(0.2)
        expected = {"A": [0, 0.0], "B": [0, 0.0]}
        for unit in range(20):
            answer = httpx.post(
                f"{one}/predict", json={"features": [1, 2, 3], "unit_id": f"u{unit}"}, headers=APP
            )
            variant, request_id = answer.headers["x-mlpy-variant"], answer.json()["request_id"]
            value = 1.0 if variant == "B" else 0.0
            expected[variant][0] += 1
            expected[variant][1] += value
            for url in (two, two, one):  # the other replica first, then duplicates on both
                httpx.post(f"{url}/feedback", json={"request_id": request_id, "value": value}, headers=APP)

        def totals(url: str) -> dict[str, list[float]]:
            shown = httpx.get(f"{url}/experiment", headers=ADMIN).json()["variants"]
            return {v["name"]: [v["stats"]["n"], v["stats"]["sum"]] for v in shown}

        deadline = time.monotonic() + 15
        while totals(one) != expected or totals(two) != expected:
            assert time.monotonic() < deadline, (totals(one), totals(two), expected)
            time.sleep(0.2)
        weights = {"A": 0.0, "B": 1.0}
        assert (
            httpx.put(f"{two}/experiment/weights", json={"weights": weights}, headers=ADMIN).status_code
            == 200
        )
        deadline = time.monotonic() + 5
        while httpx.get(f"{one}/experiment", headers=ADMIN).json()["weights"] != weights:
            assert time.monotonic() < deadline, "the other process did not follow the weights"
            time.sleep(0.1)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(20)
