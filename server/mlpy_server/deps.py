"""FastAPI dependencies: the process state and role checks, injected into every route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from mlpy_server.auth import Permission, Principal
from mlpy_server.state import ServerState

# Declared for the OpenAPI document (the "Authorize" button in /docs); checking is done by require().
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")
bearer_scheme = HTTPBearer(auto_error=False, description="An API key or a JWT")
SECURITY: list[dict[str, list[str]]] = [{"APIKeyHeader": []}, {"HTTPBearer": []}]


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.mlpy
    return state


def check(state: ServerState, request: Request, permission: Permission) -> Principal | None:
    headers = request.headers
    return state.auth.require(permission, headers.get("authorization"), headers.get("x-api-key"))


def require(permission: Permission) -> Callable[..., Any]:
    def dependency(
        request: Request,
        state: ServerState = Depends(get_state),
        _key: Any = Depends(api_key_scheme),
        _bearer: Any = Depends(bearer_scheme),
    ) -> Principal | None:
        return check(state, request, permission)

    return dependency
