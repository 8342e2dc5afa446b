"""Server errors: each carries the HTTP status it maps to and, for bad input, the field at fault.

A client error is always one of these (a 4xx with a JSON body naming the problem), never a 500.
"""

from __future__ import annotations

from mlpy.errors import MlpyError


class ServerError(MlpyError):
    """Any failure the server reports on purpose."""

    status: int = 500
    code: str = "server_error"

    def __init__(self, message: str, *, hint: str | None = None, field: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class ServerConfigError(ServerError):
    """A setting (environment variable or option) is missing or malformed; raised at start-up."""

    code = "invalid_configuration"


class MalformedRequestError(ServerError):
    """The body is not JSON, or not the right shape at the top level."""

    status = 400
    code = "malformed_request"


class InvalidInputError(ServerError):
    """A field has a wrong type, a missing feature, a non-finite number..."""

    status = 422
    code = "invalid_input"


class PayloadTooLargeError(ServerError):
    """The body is over MLPY_MAX_BODY_BYTES, or holds more rows than MLPY_MAX_BATCH_ROWS."""

    status = 413
    code = "payload_too_large"


class AuthenticationError(ServerError):
    """No credential, or one the server does not know."""

    status = 401
    code = "unauthenticated"


class PermissionDeniedError(ServerError):
    """A known credential whose role does not allow the call (or admin calls are switched off)."""

    status = 403
    code = "forbidden"


class ModelNotLoadedError(ServerError):
    """The model (or version) named is not loaded on this server."""

    status = 404
    code = "model_not_found"


class NotFoundError(ServerError):
    """An unknown path, or (router mode) feedback for a request the experiment's routers did not route."""

    status = 404
    code = "not_found"


class ModelLoadError(ServerError):
    """A model could not be loaded or verified; the version already serving keeps serving."""

    status = 409
    code = "model_load_failed"


class MethodNotAllowedError(ServerError):
    """The path exists but not with this HTTP method."""

    status = 405
    code = "method_not_allowed"


class NotReadyError(ServerError):
    """A readiness probe before every configured model is loaded and verified."""

    status = 503
    code = "not_ready"


class UpstreamError(ServerError):
    """Router mode: the chosen variant's server is unreachable (502) or did not answer in time (504)."""

    status = 502
    code = "upstream_unavailable"


class StatisticsUnavailableError(ServerError):
    """Router mode: the shared statistics backend did not take the feedback; nothing was counted."""

    status = 503
    code = "statistics_unavailable"


class InternalError(ServerError):
    """An unexpected failure: a bug. The traceback is in the server log under the request id."""

    code = "internal"
