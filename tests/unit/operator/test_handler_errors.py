"""How API failures turn into kopf's retries: quiet for what passes on its own, loud for the rest."""

from __future__ import annotations

import kopf
import pytest
from kubernetes.client.exceptions import ApiException

from mlpy_operator.handlers.errors import reconciling

TERMINATING = (
    '{"kind":"Status","status":"Failure","message":"deployments.apps \\"credit-v1\\" is forbidden: unable to'
    ' create new content in namespace e2e-1 because it is being terminated","reason":"Forbidden","code":403}'
)


def api_error(status: int, body: str = "") -> ApiException:
    exc = ApiException(status=status, reason="Forbidden" if status == 403 else "Error")
    exc.body = body
    return exc


@pytest.mark.parametrize(("status", "body"), [(409, ""), (429, ""), (503, ""), (403, TERMINATING)])
def test_passing_failures_are_retried(status: int, body: str) -> None:
    with pytest.raises(kopf.TemporaryError), reconciling("ModelVersion"):
        raise api_error(status, body)


def test_a_missing_permission_stays_an_error() -> None:
    denied = '{"message":"deployments.apps is forbidden: User cannot create resource","code":403}'
    with pytest.raises(ApiException), reconciling("ModelVersion"):
        raise api_error(403, denied)


def test_a_terminating_namespace_is_named() -> None:
    with pytest.raises(kopf.TemporaryError, match="namespace is being deleted"), reconciling("ModelVersion"):
        raise api_error(403, TERMINATING)
