"""Turning any exception into the JSON error response, for FastAPI's handlers and the fast lane alike."""

from __future__ import annotations

import logging

from fastapi import Request, Response

from mlpy.errors import MlpyError
from mlpy_server.errors import InternalError, InvalidInputError, ServerError
from mlpy_server.scope import ERROR_CODE, REQUEST_ID, error_body

log = logging.getLogger("mlpy.server")


def error_response(request: Request, exc: ServerError) -> Response:
    request.scope[ERROR_CODE] = exc.code
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    body = error_body(exc, request.scope.get(REQUEST_ID))
    return Response(body, exc.status, headers=headers, media_type="application/json")


def failure_response(request: Request, exc: Exception) -> Response:
    """ServerError as is; another package's MlpyError is the caller's input (422); anything else a 500."""
    if isinstance(exc, ServerError):
        return error_response(request, exc)
    if isinstance(exc, MlpyError):
        return error_response(request, InvalidInputError(str(exc)))
    log.error(
        "unexpected error",
        exc_info=exc,
        extra={"request_id": request.scope.get(REQUEST_ID), "path": request.url.path},
    )
    return error_response(request, InternalError("internal error; the request id is in the server log"))
