"""The FastAPI application: routes, error handling, middleware and start-up in one factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from mlpy import __version__
from mlpy.errors import MlpyError
from mlpy_server import api, cards, ops, v2
from mlpy_server.errors import (
    InvalidInputError,
    MethodNotAllowedError,
    NotFoundError,
    ServerError,
)
from mlpy_server.failures import error_response, failure_response
from mlpy_server.fastlane import FastLane
from mlpy_server.hot_routes import declare, forwarding_routes, serving_routes
from mlpy_server.metrics import ServerMetrics
from mlpy_server.middleware import ObservabilityMiddleware
from mlpy_server.settings import ServerSettings
from mlpy_server.state import ServerState

DESCRIPTION = """\
Serves scikit-learn models from the mlpy registry (or an artifact URI and its SHA-256).

* Native API: `POST /predict`, `POST /predict/batch`, `GET /models`, admin reload and delete.
* Open Inference Protocol v2 under `/v2` (KServe, MLServer and Triton clients).
* Probes: `/healthz`, `/readyz`; Prometheus metrics at `/metrics`.

Every error is JSON: `{"error": message, "code": ..., "field": ..., "request_id": ...}`.
"""


class ServerApp:
    """The ASGI entry point: the observability middleware and fast lane in front of the FastAPI app.

    Sitting outside FastAPI (not added with ``add_middleware``) spares every hot request FastAPI's and
    Starlette's own layers; everything else is handed to FastAPI unchanged.
    """

    def __init__(self, api: FastAPI, entry: ASGIApp, fast_lane: FastLane) -> None:
        self.api = api
        self.state = api.state
        self.fast_lane = fast_lane
        self._entry = entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)


def create_app(settings: ServerSettings | None = None, *, metrics: ServerMetrics | None = None) -> ServerApp:
    settings = settings or ServerSettings.from_env()
    state = ServerState(settings, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="mlpy model server",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=_OrjsonResponse,
    )
    app.state.mlpy = state
    app.state.groups = []
    _include(app, ops.endpoints)
    if state.router is not None:
        from mlpy_server import forwarding

        routes = forwarding_routes()
        declare(app, routes)
        _include(app, forwarding.endpoints)
        config = state.router.plan.config
        _name_variants(app, [v.name for v in config.variants], config.metric.type == "proportion")
    else:
        routes = serving_routes()
        declare(app, routes)
    for group in (api.endpoints, cards.endpoints, v2.endpoints):
        _include(app, group)
    lane = FastLane(app, routes)
    _install_error_handlers(app)
    entry: ASGIApp = ObservabilityMiddleware(
        app,
        metrics=state.metrics if settings.request_metrics else None,
        max_body_bytes=settings.max_body_bytes,
        access_log=settings.access_log,
        fast_lane=lane,
    )
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        entry = CORSMiddleware(
            entry,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    return ServerApp(app, entry, lane)


def app_from_env() -> ServerApp:
    """The factory ``uvicorn --factory`` calls in every worker process."""
    from mlpy_server.logs import configure

    configure()
    return create_app(ServerSettings.from_env())


class _OrjsonResponse(JSONResponse):
    """JSON by orjson. A JSONResponse only so that the OpenAPI shows each route's JSON schema (FastAPI
    says "string" for any other class); rendering and everything else are this class's own."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def _name_variants(app: FastAPI, variants: list[str], proportion: bool) -> None:
    from mlpy_server.forwarding import describe_variants

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_variants(build(), variants, proportion)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _include(app: FastAPI, group: APIRouter) -> None:
    """Include a group of endpoints, and keep it: FastAPI's included routers do not list their routes."""
    app.include_router(group)
    app.state.groups.append(group)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the request's path takes (the Allow header of a 405)."""
    app = request.app
    routes = [*app.router.routes, *(route for group in app.state.groups for route in group.routes)]
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, APIRoute) and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


def _install_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> Response:
        return failure_response(request, exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
        message = f"field {where!r}: {first.get('msg', 'invalid')}"
        return error_response(request, InvalidInputError(message, field=where))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        known = {404: NotFoundError, 405: MethodNotAllowedError}.get(exc.status_code)
        error = known(str(exc.detail)) if known is not None else ServerError(str(exc.detail))
        if known is None:
            error.status = exc.status_code
            error.code = "http_error"
        response = error_response(request, error)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path can have several routes.
            response.headers["allow"] = ", ".join(_allowed_methods(request))
        return response

    app.add_exception_handler(ServerError, handle)
    app.add_exception_handler(MlpyError, handle)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, handle)
