"""Router replicas share per-variant statistics through Redis (or the metadata store) within a second."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from mlpy.experiments.definition import ExperimentConfig
from mlpy.experiments.repository import ExperimentRepository
from mlpy.store import open_store
from mlpy_server import ServerSettings, create_app

pytestmark = pytest.mark.integration

SPEC = {
    "strategy": "weighted",
    "metric": {"name": "converted", "goal": "maximize", "type": "proportion"},
    "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
}
UPSTREAMS = {"A": "http://127.0.0.1:9", "B": "http://127.0.0.1:9"}


def wait_for(check: object, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_two_replicas_share_stats_through_redis(tmp_path: Path, redis_url: str) -> None:
    import redis

    name = f"exp-{time.time_ns()}"
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": name, "spec": SPEC}))
    settings = ServerSettings(experiment=str(path), upstreams=UPSTREAMS, experiment_stats_url=redis_url)
    try:
        with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
            for value in (1.0, 0.0, 1.0):
                assert (
                    one.post(
                        "/feedback", json={"request_id": "r", "value": value, "variant": "A"}
                    ).status_code
                    == 202
                )

            def seen_by_two() -> bool:
                variants = {v["name"]: v for v in two.get("/experiment").json()["variants"]}
                return bool(variants["A"]["stats"]["n"] == 3 and variants["A"]["stats"]["sum"] == 2.0)

            wait_for(seen_by_two, timeout_s=3.0)
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"*{name}*"):
            client.delete(key)


def test_experiment_by_name_from_the_metadata_store(postgres_url: str) -> None:
    store = open_store(postgres_url)
    ExperimentRepository(store).create("pricing", ExperimentConfig.from_dict(SPEC))
    settings = ServerSettings(experiment="pricing", store_url=postgres_url, upstreams=UPSTREAMS)
    with TestClient(create_app(settings)) as client:
        client.post("/feedback", json={"request_id": "r", "value": 1.0, "variant": "B"})
        wait_for(lambda: ExperimentRepository(store).stats.load("pricing").get("B") is not None, 3.0)
        assert ExperimentRepository(store).stats.load("pricing")["B"].n == 1
        assert client.get("/experiment").json()["experiment"] == "pricing"
