"""The hot routes dispatched straight from the middleware, skipping FastAPI's router and DI.

Built from the same table as FastAPI's declarations of those routes (hot_routes.py), so the two cannot
disagree; the lane only saves the per-request route matching and dependency solving (tens of
microseconds). A path it does not match goes to FastAPI unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from starlette.types import Receive, Scope, Send

from mlpy_server.failures import failure_response
from mlpy_server.hot_routes import Handler, HotRoute


class _Label:
    """Stands in for the matched route in the scope, so metrics label the endpoint the same way."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class _Template:
    """A path template as a compiled pattern: each ``{parameter}`` takes one non-empty path segment."""

    __slots__ = ("handler", "label", "pattern")

    def __init__(self, route: HotRoute) -> None:
        parts = [
            f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") and p.endswith("}") else re.escape(p)
            for p in route.path.split("/")
        ]
        self.pattern = re.compile("/".join(parts))
        self.handler = route.handler
        self.label = _Label(route.path)


class FastLane:
    def __init__(self, app: Any, routes: tuple[HotRoute, ...]) -> None:
        self.app = app
        self.routes = routes
        # Per method: fixed paths by path, then the templates in the table's order.
        self._fixed: dict[str, dict[str, tuple[Handler, _Label]]] = {}
        self._templates: dict[str, list[_Template]] = {}
        for route in routes:
            if route.parameters:
                self._templates.setdefault(route.method, []).append(_Template(route))
            else:
                self._fixed.setdefault(route.method, {})[route.path] = (route.handler, _Label(route.path))

    def match(self, scope: Scope) -> tuple[Handler, _Label, dict[str, str]] | None:
        method: str = scope["method"]
        path: str = scope["path"]
        fixed = self._fixed.get(method)
        if fixed is not None:
            hit = fixed.get(path)
            if hit is not None:
                return hit[0], hit[1], {}
        for template in self._templates.get(method, ()):
            found = template.pattern.fullmatch(path)
            if found is not None:
                return template.handler, template.label, found.groupdict()
        return None

    async def serve(
        self, scope: Scope, receive: Receive, send: Send, handler: Handler, params: dict[str, str]
    ) -> None:
        scope["app"] = self.app
        scope["path_params"] = params
        request = Request(scope, receive)
        try:
            response = await handler(request, **params)
        except Exception as exc:
            response = failure_response(request, exc)
        await response(scope, receive, send)
