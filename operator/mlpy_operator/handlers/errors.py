"""How handlers turn failures into kopf's retry policy, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import kopf
from kubernetes.client.exceptions import ApiException

from mlpy_operator.errors import SpecError
from mlpy_operator.metrics import observed

RETRY_DELAY_S = 5


@contextmanager
def reconciling(kind: str) -> Iterator[None]:
    """Count the reconcile; a spec we cannot act on stops retries, a busy or conflicting API retries soon."""
    try:
        with observed(kind):
            yield
    except SpecError as exc:
        raise kopf.PermanentError(str(exc)) from exc
    except ApiException as exc:
        if _namespace_terminating(exc):
            raise kopf.TemporaryError("the namespace is being deleted", delay=RETRY_DELAY_S) from exc
        if exc.status in {409, 429} or (exc.status or 0) >= 500:
            raise kopf.TemporaryError(
                f"API server said {exc.status}: {exc.reason}", delay=RETRY_DELAY_S
            ) from exc
        raise


def _namespace_terminating(exc: ApiException) -> bool:
    """The 403 for creating in a namespace being deleted: not a missing permission, and it passes on
    its own (the object goes with its namespace), so it is retried quietly rather than logged."""
    return exc.status == 403 and "being terminated" in str(exc.body or "")
