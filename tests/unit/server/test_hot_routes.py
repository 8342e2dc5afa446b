"""The hot routes are declared once: the OpenAPI document and the fast lane come from one table.

Each test fails when the two disagree: a documented hot operation the lane does not answer, a lane
route the document does not show (or shows with another body, role or summary), or a documented
operation the lane would take over.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mlpy_server import ServerSettings, create_app
from mlpy_server.app import ServerApp
from mlpy_server.deps import security
from mlpy_server.hot_routes import forwarding_routes, serving_routes
from tests.unit.server.conftest import wait_ready

SAMPLE = {"{name}": "lin", "{version}": "1"}


def concrete(template: str) -> str:
    for parameter, value in SAMPLE.items():
        template = template.replace(parameter, value)
    return template


def build(mode: str, make_settings: Callable[..., ServerSettings], tmp_path: Path) -> ServerApp:
    if mode == "serving":
        return create_app(make_settings())
    experiment = tmp_path / "exp.yaml"
    ports = {"A": 9, "B": 10}  # nothing listens: forwarding answers 502
    variants = [{"name": n, "weight": 50, "upstream": f"http://127.0.0.1:{p}"} for n, p in ports.items()]
    spec = {"strategy": "weighted", "metric": {"name": "error", "goal": "minimize", "type": "mean"}}
    experiment.write_text(yaml.safe_dump({"name": "lin-ab", "spec": {**spec, "variants": variants}}))
    return create_app(ServerSettings(experiment=str(experiment)))


@pytest.fixture(params=["serving", "router"])
def server(request: Any, make_settings: Callable[..., ServerSettings], tmp_path: Path) -> ServerApp:
    return build(request.param, make_settings, tmp_path)


def test_each_mode_serves_its_own_table(server: ServerApp) -> None:
    expected = forwarding_routes() if server.state.mlpy.router is not None else serving_routes()
    assert [(r.method, r.path, r.handler) for r in server.fast_lane.routes] == [
        (r.method, r.path, r.handler) for r in expected
    ]


def test_every_lane_route_is_documented_as_declared(server: ServerApp) -> None:
    paths = server.api.openapi()["paths"]
    for route in server.fast_lane.routes:
        operation = paths[route.path][route.method.lower()]
        assert operation["summary"] == route.summary
        assert operation["description"] == route.description
        assert operation["tags"] == list(route.tags)
        assert operation["security"] == security(route.permission)
        assert operation["requestBody"]["content"]["application/json"]["schema"] == route.body
        documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert documented == set(route.parameters), route.path
        assert {str(code) for code in route.responses} <= set(operation["responses"])


def test_the_lane_answers_every_documented_hot_operation_and_nothing_else(server: ServerApp) -> None:
    lane = server.fast_lane
    declared = {(r.method, r.path): r for r in lane.routes}
    for path, operations in server.api.openapi()["paths"].items():
        for method in operations:
            match = lane.match({"method": method.upper(), "path": concrete(path)})
            route = declared.get((method.upper(), path))
            if route is None:
                assert match is None, f"the lane would take {method.upper()} {path}, documented elsewhere"
                continue
            assert match is not None, f"documented hot operation {method.upper()} {path} not in the lane"
            handler, label, parameters = match
            assert handler is route.handler
            assert label.path == path  # the metrics' endpoint label is the documented template
            assert set(parameters) == set(route.parameters)


@pytest.mark.parametrize(
    "path", ["/v2/models//infer", "/v2/models/a/b/infer", "/v2/models/a/versions//infer", "/predict/"]
)
def test_the_lane_declines_what_fastapi_would_not_match(server: ServerApp, path: str) -> None:
    assert server.fast_lane.match({"method": "POST", "path": path}) is None
    assert server.fast_lane.match({"method": "GET", "path": "/predict"}) is None


def test_hot_requests_never_reach_fastapi(server: ServerApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the server is ready, FastAPI refuses every HTTP call; each hot route still answers (the lane)."""
    original = FastAPI.__call__

    async def refuse_http(app: FastAPI, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] != "http", f"FastAPI was asked to answer {scope['method']} {scope['path']}"
        await original(app, scope, receive, send)

    with TestClient(server) as client:
        wait_ready(client)
        monkeypatch.setattr(FastAPI, "__call__", refuse_http)
        for route in server.fast_lane.routes:
            response = client.post(concrete(route.path), json={"features": [1, 2, 3]})
            # Served: a prediction, or the lane's JSON error (router mode: the variants are not running).
            assert response.headers["content-type"] == "application/json", response.text
            assert response.status_code in (200, 422, 502), response.text
        with pytest.raises(AssertionError, match="FastAPI was asked"):
            client.get("/models")
