"""A router reads its experiment by name from the metadata store and shares its statistics there.

Feedback across replicas, on Redis and PostgreSQL, is in tests/unit/server/test_router_replicas.py.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from mlpy.experiments.definition import ExperimentConfig
from mlpy.experiments.repository import ExperimentRepository
from mlpy.store import open_store
from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key

pytestmark = pytest.mark.integration

SPEC = {
    "strategy": "weighted",
    "metric": {"name": "converted", "goal": "maximize", "type": "proportion"},
    "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
}
UPSTREAMS = {"A": "http://127.0.0.1:9", "B": "http://127.0.0.1:9"}
ADMIN = {"X-API-Key": "ops"}


def wait_for(check: object, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_experiment_by_name_from_the_metadata_store(postgres_url: str) -> None:
    store = open_store(postgres_url)
    ExperimentRepository(store).create("pricing", ExperimentConfig.from_dict(SPEC))
    settings = ServerSettings(
        experiment="pricing",
        store_url=postgres_url,
        upstreams=UPSTREAMS,
        api_keys=(f"ops:admin:{hash_key('ops')}",),
    )
    with TestClient(create_app(settings)) as client:
        # An admin may credit a variant by name (for example outcomes joined later in a warehouse).
        named = {"request_id": "r", "value": 1.0, "variant": "B"}
        assert client.post("/feedback", json=named, headers=ADMIN).status_code == 202
        wait_for(lambda: ExperimentRepository(store).stats.load("pricing").get("B") is not None, 3.0)
        assert ExperimentRepository(store).stats.load("pricing")["B"].n == 1
        assert client.get("/experiment", headers=ADMIN).json()["experiment"] == "pricing"
