"""The hot routes dispatched straight from the middleware, skipping FastAPI's router and DI.

Built from the same table as FastAPI's declarations of those routes (hot_routes.py), so the two cannot
disagree; the lane only saves the per-request route matching and dependency solving (tens of
microseconds). A path it does not match goes to FastAPI unchanged.
"""

from __future__ import annotations

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
    """A path template as segments: a literal to compare, or None where a parameter takes the segment."""

    __slots__ = ("handler", "label", "names", "segments")

    def __init__(self, route: HotRoute) -> None:
        parts = route.path.split("/")
        self.segments = tuple(None if p.startswith("{") else p for p in parts)
        self.names = tuple(p[1:-1] for p in parts if p.startswith("{"))
        self.handler = route.handler
        self.label = _Label(route.path)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        values = []
        for literal, part in zip(self.segments, parts, strict=True):
            if literal is None:
                if not part:
                    return None
                values.append(part)
            elif literal != part:
                return None
        return dict(zip(self.names, values, strict=True))


class FastLane:
    def __init__(self, app: Any, routes: tuple[HotRoute, ...]) -> None:
        self.app = app
        self.routes = routes
        # Per method: fixed paths by path, templates by their number of segments.
        self._fixed: dict[str, dict[str, tuple[Handler, _Label]]] = {}
        self._templates: dict[str, dict[int, list[_Template]]] = {}
        for route in routes:
            if route.parameters:
                template = _Template(route)
                by_length = self._templates.setdefault(route.method, {})
                by_length.setdefault(len(template.segments), []).append(template)
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
        templates = self._templates.get(method)
        if templates is None:
            return None
        parts = path.split("/")
        for template in templates.get(len(parts), ()):
            params = template.match(parts)
            if params is not None:
                return template.handler, template.label, params
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
