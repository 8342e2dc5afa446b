"""Property-based: cases generated from the server's own OpenAPI never get a 5xx.

The app is built at import time (schemathesis reads its schema then); the fixture fills its registry
and runs its lifespan, so the cases hit loaded models.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key

ADMIN_KEY = "schemathesis-admin"
HOME = Path(tempfile.mkdtemp(prefix="mlpy-schemathesis-"))
STORE = f"sqlite:///{HOME / 'store.db'}"
ARTIFACTS = str(HOME / "artifacts")

app = create_app(
    ServerSettings(
        models=("lin", "clf"),
        store_url=STORE,
        artifacts_url=ARTIFACTS,
        api_keys=(f"ops:admin:{hash_key(ADMIN_KEY)}",),
        load_retry_max_s=0.2,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def running_app() -> Iterator[None]:
    registry = ModelRegistry(STORE, ARTIFACTS)
    x = np.random.default_rng(0).normal(size=(30, 3))
    registry.register("lin", LinearRegression().fit(x, x.sum(axis=1)))
    registry.promote("lin", 1)
    registry.register("clf", LogisticRegression().fit(x, x[:, 0] > 0))
    registry.promote("clf", 1)
    with TestClient(app) as client:
        deadline = time.monotonic() + 20
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").text
            time.sleep(0.05)
        yield


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any, running_app: None) -> None:
    case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, checks=[not_a_server_error])
