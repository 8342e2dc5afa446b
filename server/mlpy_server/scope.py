"""What a request carries through the server besides its body: the keys of the ASGI scope that the
middleware, the fast lane and the error handlers share, and the one shape of an error body.

A module of its own so that none of them imports another to learn a key.
"""

from __future__ import annotations

from typing import Any

import orjson

from mlpy_server.errors import ServerError

#: Scope keys (ASGI lets an application add its own): the request id, the model that answered, the
#: error code of a failure, and when the request arrived (perf_counter).
REQUEST_ID = "mlpy.request_id"
MODEL = "mlpy.model"
ERROR_CODE = "mlpy.error_code"
START = "mlpy.start"


def error_body(exc: ServerError, request_id: str | None) -> bytes:
    """``{"error": message, ...}``: ``error`` is a string, as the Open Inference Protocol requires."""
    body: dict[str, Any] = {"error": str(exc), "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    if request_id:
        body["request_id"] = request_id
    return orjson.dumps(body)
