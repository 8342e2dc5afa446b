"""Fixtures for the server tests: a registered model, a ready app, and real servers on loopback ports."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sklearn.linear_model import LinearRegression, LogisticRegression

from localk8s import free_port
from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app

FEATURES = ["age", "income", "score"]
COEF = np.array([1.0, 2.0, 3.0])
SIGNATURE = {"inputs": [{"name": n, "type": "number"} for n in FEATURES], "output": {"task": "regression"}}
# A few of the standard process_* and python_* series every Prometheus client exposes.
STANDARD_SERIES = (
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "python_info",
    "python_gc_objects_collected_total",
)


def fitted_linear(scale: float = 1.0) -> LinearRegression:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    return LinearRegression().fit(x, x @ (COEF * scale) + 0.5)


@pytest.fixture
def registry(sqlite_url: str, tmp_path: Path) -> ModelRegistry:
    """A registry holding ``lin`` (v1 in production, v2 with doubled coefficients) and a classifier."""
    reg = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    reg.register("lin", fitted_linear(), signature=SIGNATURE)
    reg.register("lin", fitted_linear(2.0), signature=SIGNATURE)
    reg.promote("lin", 1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    reg.register("clf", LogisticRegression().fit(x, np.where(x[:, 0] > 0, "yes", "no")))
    reg.promote("clf", 1)
    return reg


def settings_for(registry: ModelRegistry, **overrides: Any) -> ServerSettings:
    values: dict[str, Any] = {
        "models": ("lin",),
        "store_url": registry.store.url,
        "artifacts_url": registry.artifacts.root,
    }
    values.update(overrides)
    return ServerSettings(**values)


def wait_ready(client: TestClient, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"server not ready: {client.get('/readyz').json()}")


@pytest.fixture
def make_client(registry: ModelRegistry) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)`` starts an app (lifespan included) and waits until it is ready."""
    clients: list[TestClient] = []

    def make(wait: bool = True, **overrides: Any) -> TestClient:
        client = TestClient(create_app(settings_for(registry, **overrides)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        if wait:
            wait_ready(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


class ThreadedServer:
    """A real uvicorn server on a loopback port, in a thread (real sockets, real concurrency)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], ThreadedServer]]:
    servers: list[ThreadedServer] = []

    def start(app: Any) -> ThreadedServer:
        server = ThreadedServer(app).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


@pytest.fixture
def make_settings(registry: ModelRegistry) -> Callable[..., ServerSettings]:
    """Settings pointing at the test registry, with overrides."""

    def make(**overrides: Any) -> ServerSettings:
        return settings_for(registry, **overrides)

    return make


def register_cities(registry: ModelRegistry) -> tuple[Any, Any]:
    """A pipeline taking a number and a text column by name (``cities``, in production), and the rows
    it was fitted on: the model the BYTES tensor tests send one tensor per column to."""
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"amount": [1.0, 5.0, 2.0, 8.0], "city": ["paris", "lyon", "paris", "lyon"]})
    model = make_pipeline(
        make_column_transformer(("passthrough", ["amount"]), (OneHotEncoder(), ["city"])),
        LogisticRegression(),
    ).fit(frame, [0, 1, 0, 1])
    registry.register("cities", model, input_example=frame)
    registry.promote("cities", 1)
    return model, frame


def wait_until_ready(url: str, timeout_s: float = 20.0) -> str:
    """The server's URL, once its /readyz answers 200."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while httpx.get(f"{url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "server not ready"
        time.sleep(0.05)
    return url


def experiment_file(folder: Path, upstreams: dict[str, str], name: str = "lin-ab") -> Path:
    """An experiment splitting traffic evenly over ``upstreams`` (variant name to URL), for a router."""
    import yaml

    spec = {
        "strategy": "weighted",
        "metric": {"name": "error", "goal": "minimize", "type": "mean"},
        "variants": [{"name": n, "weight": 50, "upstream": u} for n, u in upstreams.items()],
    }
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": name, "spec": spec}))
    return path
