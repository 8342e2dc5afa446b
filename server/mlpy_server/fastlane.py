"""The hot endpoints dispatched straight from the middleware, skipping FastAPI's router and DI.

FastAPI still declares the same routes (OpenAPI, /docs) and would serve them if the lane declined;
the lane only saves the per-request route matching and dependency solving (tens of microseconds).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from starlette.types import Receive, Scope, Send

from mlpy_server.failures import failure_response

Handler = Callable[..., Awaitable[Response]]
INFER_PREFIX = "/v2/models/"
INFER_SUFFIX = "/infer"


class _Label:
    """Stands in for the matched route in the scope, so metrics label the endpoint the same way."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


PREDICT = _Label("/predict")
BATCH = _Label("/predict/batch")
INFER = _Label("/v2/models/{name}/infer")
INFER_VERSION = _Label("/v2/models/{name}/versions/{version}/infer")


class FastLane:
    def __init__(self, app: Any, predict: Handler, batch: Handler, infer: Handler) -> None:
        self.app = app
        self._predict = predict
        self._batch = batch
        self._infer = infer

    def match(self, scope: Scope) -> tuple[Handler, _Label, dict[str, Any]] | None:
        if scope["method"] != "POST":
            return None
        path: str = scope["path"]
        if path == "/predict":
            return self._predict, PREDICT, {}
        if path == "/predict/batch":
            return self._batch, BATCH, {}
        if path.startswith(INFER_PREFIX) and path.endswith(INFER_SUFFIX):
            middle = path[len(INFER_PREFIX) : -len(INFER_SUFFIX)]
            if "/" not in middle and middle:
                return self._infer, INFER, {"name": middle, "version": None}
            name, sep, version = middle.partition("/versions/")
            if sep and name and version and "/" not in name and "/" not in version:
                return self._infer, INFER_VERSION, {"name": name, "version": version}
        return None

    async def serve(
        self, scope: Scope, receive: Receive, send: Send, handler: Handler, params: dict[str, Any]
    ) -> None:
        scope["app"] = self.app
        scope["path_params"] = {k: v for k, v in params.items() if v is not None}
        request = Request(scope, receive)
        try:
            response = await handler(request, **params)
        except Exception as exc:
            response = failure_response(request, exc)
        await response(scope, receive, send)
