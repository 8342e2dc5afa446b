"""Property-based: cases generated from the OpenAPI of the server and of the router, with credentials on
and off, get no 5xx and agree with the schema (statuses, bodies, content types, Allow headers, and
schema-valid requests accepted while schema-invalid ones are refused).

Each app's schema is read at import time (schemathesis parametrizes from it); the module fixture fills
the registry and serves every app with uvicorn on a loopback port, the router's two variants included,
so the cases go over real sockets.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import schemathesis
import uvicorn
import yaml
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import ignored_auth
from schemathesis.config import SchemathesisConfig
from sklearn.linear_model import LinearRegression, LogisticRegression

from localk8s import free_port
from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key

ADMIN_KEY = "schemathesis-admin"
KEYS = (f"ops:admin:{hash_key(ADMIN_KEY)}",)
HOME = Path(tempfile.mkdtemp(prefix="mlpy-schemathesis-"))
STORE = f"sqlite:///{HOME / 'store.db'}"
ARTIFACTS = str(HOME / "artifacts")
FEATURES = [{"name": n, "type": "number"} for n in ("age", "income", "score")]
VARIANT_PORTS = {"A": free_port(), "B": free_port()}

# Rejections the schema cannot express: which features a model takes is known only at run time, so
# the prediction routes may answer a schema-valid body with 422 (wrong width, unknown feature name);
# which models are loaded is known only at run time too (404; and with several loaded, /predict and
# /kpi must name one: 422), and a batch over the row limit is a 413.
CONFIG = SchemathesisConfig.from_str(
    """
[generation]
mode = "all"

[checks]
positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413"]
negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "405", "413", "422"]

[[operations]]
include-path-regex = "^/(predict|predict/batch|kpi|v2/models/.*/infer)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "413", "422"]
"""
)


def server_app(keys: tuple[str, ...]) -> Any:
    return create_app(
        ServerSettings(
            models=("lin", "clf"),
            store_url=STORE,
            artifacts_url=ARTIFACTS,
            api_keys=keys,
            load_retry_max_s=0.2,
        )
    )


def router_app(keys: tuple[str, ...]) -> Any:
    path = HOME / "experiment.yaml"
    spec = {
        "strategy": "weighted",
        "metric": {"name": "converted", "goal": "maximize", "type": "proportion"},
        "variants": [
            {"name": name, "weight": 1, "upstream": f"http://127.0.0.1:{port}"}
            for name, port in VARIANT_PORTS.items()
        ],
    }
    path.write_text(yaml.safe_dump({"name": "fuzz", "spec": spec}))
    return create_app(ServerSettings(experiment=str(path), api_keys=keys))


BUILDERS = {
    "server-open": lambda: server_app(()),
    "server-keyed": lambda: server_app(KEYS),
    "router-open": lambda: router_app(()),
    "router-keyed": lambda: router_app(KEYS),
}
SCHEMAS = {
    name: schemathesis.openapi.from_dict(build().api.openapi(), config=CONFIG)
    for name, build in BUILDERS.items()
}
URLS: dict[str, str] = {}


def _serve(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "a variant server did not start"
        time.sleep(0.02)
    return server


@pytest.fixture(scope="module")
def running_apps() -> Iterator[None]:
    registry = ModelRegistry(STORE, ARTIFACTS)
    x = np.random.default_rng(0).normal(size=(30, 3))
    registry.register("lin", LinearRegression().fit(x, x.sum(axis=1)), signature={"inputs": FEATURES})
    registry.promote("lin", 1)
    registry.register("clf", LogisticRegression().fit(x, x[:, 0] > 0))
    registry.promote("clf", 1)
    servers = [_serve(server_app(()), port) for port in VARIANT_PORTS.values()]
    for name, build in BUILDERS.items():
        port = free_port()
        servers.append(_serve(build(), port))
        URLS[name] = f"http://127.0.0.1:{port}"
    for url in URLS.values():
        deadline = time.monotonic() + 20
        while httpx.get(f"{url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, httpx.get(f"{url}/readyz").text
            time.sleep(0.05)
    yield
    for server in servers:
        server.should_exit = True


def _check(case: Any, name: str) -> None:
    if name.endswith("keyed"):
        case.call_and_validate(base_url=URLS[name], headers={"X-API-Key": ADMIN_KEY})
    else:
        # With no credential configured, reads and predictions are open by design (admin calls refused).
        case.call_and_validate(base_url=URLS[name], excluded_checks=[ignored_auth])


EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@SCHEMAS["server-open"].parametrize()
@seed(20261201)
@EXAMPLES
def test_server_open(case: Any, running_apps: None) -> None:
    _check(case, "server-open")


@SCHEMAS["server-keyed"].parametrize()
@seed(20261201)
@EXAMPLES
def test_server_keyed(case: Any, running_apps: None) -> None:
    _check(case, "server-keyed")


@SCHEMAS["router-open"].parametrize()
@seed(20261201)
@EXAMPLES
def test_router_open(case: Any, running_apps: None) -> None:
    _check(case, "router-open")


@SCHEMAS["router-keyed"].parametrize()
@seed(20261201)
@EXAMPLES
def test_router_keyed(case: Any, running_apps: None) -> None:
    _check(case, "router-keyed")
