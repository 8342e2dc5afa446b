"""One pure ASGI middleware for request ids, timing, metrics and access logs.

Pure ASGI (no BaseHTTPMiddleware): it adds a header and reads a clock, nothing that would copy or
re-stream the body, so it costs microseconds.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlpy_server.errors import PayloadTooLargeError, ServerError
from mlpy_server.ids import accept_request_id
from mlpy_server.metrics import NO_MODEL, ServerMetrics
from mlpy_server.scope import ERROR_CODE, MODEL, REQUEST_ID, START, error_body

if TYPE_CHECKING:
    from mlpy_server.fastlane import FastLane

log = logging.getLogger("mlpy.server.access")


class ObservabilityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: ServerMetrics | None,
        max_body_bytes: int,
        access_log: bool,
        fast_lane: FastLane | None = None,
    ) -> None:
        self.app = app
        self.fast_lane = fast_lane
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        given_id: str | None = None
        length: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                given_id = value.decode("latin-1")
            elif key == b"content-length":
                length = value
        request_id = accept_request_id(given_id)
        scope[REQUEST_ID] = request_id
        scope[START] = start
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Read at answer time: a router replaces the id with the signed one it forwarded.
                id_header = (b"x-request-id", scope[REQUEST_ID].encode())
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            problem = self._body_problem(length)
            if problem is not None:
                scope[ERROR_CODE] = problem.code
                await _send_error(send_with_id, problem, request_id)
            else:
                body_receive = receive if length is not None else self._limited(receive)
                lane = self.fast_lane
                match = lane.match(scope) if lane is not None else None
                if lane is None or match is None:
                    await self.app(scope, body_receive, send_with_id)
                else:
                    handler, scope["route"], params = match
                    await lane.serve(scope, body_receive, send_with_id, handler, params)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            endpoint = getattr(route, "path", "unmatched")
            served = scope.get(MODEL)
            model = NO_MODEL if served is None else (served.name, served.version)
            if self.metrics is not None:
                self.metrics.observe(endpoint, model, status, elapsed)
            if status >= 400 and self.metrics is not None:
                self.metrics.error(
                    endpoint, model, scope.get(ERROR_CODE, "internal" if status >= 500 else "http")
                )
            # A 503 is a probe saying "not yet" (or a router's upstream): expected, not an error to page on.
            failed = status >= 500 and status != 503
            if self.access_log or failed:
                log.log(
                    logging.ERROR if failed else logging.INFO,
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "request_id": request_id,
                        "status": status,
                        "endpoint": endpoint,
                        "model": model[0] or None,
                        "version": model[1] or None,
                        "duration_ms": round(elapsed * 1000, 3),
                    },
                )

    def _body_problem(self, length: bytes | None) -> ServerError | None:
        if length is None:
            return None
        try:
            size = int(length)
        except ValueError:
            return PayloadTooLargeError("the Content-Length header is not a number")
        if size > self.max_body_bytes:
            return PayloadTooLargeError(
                f"the body has {size} bytes, more than the limit of {self.max_body_bytes}",
                hint="split the request or raise MLPY_MAX_BODY_BYTES",
            )
        return None

    def _limited(self, receive: Receive) -> Receive:
        """A chunked body (no Content-Length) is counted as it arrives and cut off at the limit."""
        seen = 0
        limit = self.max_body_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLargeError(
                        f"the body is larger than the limit of {limit} bytes",
                        hint="split the request or raise MLPY_MAX_BODY_BYTES",
                    )
            return message

        return counted


async def _send_error(send: Send, exc: ServerError, request_id: str) -> None:
    body = error_body(exc, request_id)
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
