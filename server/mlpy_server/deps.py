"""FastAPI dependencies: the process state and role checks, injected into every route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from mlpy_server.auth import Permission, Principal
from mlpy_server.state import ServerState

# Declared for the OpenAPI document (the "Authorize" button in /docs); checking is done by require().
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")
bearer_scheme = HTTPBearer(auto_error=False, description="An API key or a JWT")


def security(permission: Permission) -> list[dict[str, list[str]]]:
    """The OpenAPI security requirement of a call that needs ``permission``: either header will do.

    The permission is listed as the requirement's role (OpenAPI 3.1 allows role names for any scheme),
    which is where docs/http-api.md reads each operation's role from. Routes that check by hand (the
    hot path, which has no dependencies) attach this with ``openapi_extra``; ``require()`` declares
    the same through its security dependencies.
    """
    return [{"APIKeyHeader": [str(permission)]}, {"HTTPBearer": [str(permission)]}]


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
        _key: Any = Security(api_key_scheme, scopes=[str(permission)]),
        _bearer: Any = Security(bearer_scheme, scopes=[str(permission)]),
    ) -> Principal | None:
        return check(state, request, permission)

    return dependency
