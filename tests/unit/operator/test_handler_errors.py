"""How API failures turn into kopf's retries: quiet for what passes on its own, loud for the rest."""

from __future__ import annotations

from typing import Any

import kopf
import pytest
from kubernetes.client.exceptions import ApiException

from mlpy_operator.handlers.errors import PermanentFailure, handled, reconciling

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


def test_a_missing_permission_is_permanent_and_says_what_to_grant() -> None:
    denied = '{"message":"deployments.apps is forbidden: User cannot create resource","code":403}'
    with (
        pytest.raises(PermanentFailure, match="grant its ServiceAccount") as info,
        reconciling("ModelVersion"),
    ):
        raise api_error(403, denied)
    assert info.value.reason == "Forbidden"
    assert "deployments.apps is forbidden" in str(info.value)


def test_a_rejected_child_is_permanent_not_retried_every_minute() -> None:
    """A CronJob with schedule "61 * * * *" is refused with 422 whatever the retry: say it once."""
    invalid = '{"message":"CronJob.batch \\"m-drift\\" is invalid: spec.schedule: Invalid value","code":422}'
    with pytest.raises(PermanentFailure, match=r"spec\.schedule") as info, reconciling("DriftMonitor"):
        raise api_error(422, invalid)
    assert info.value.reason == "Rejected"


class Recorder:
    """Stands in for the API (Events) and kopf's patch (status) of one handler call."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, bool]] = []
        self.status: dict[str, Any] = {}

    def event(self, _body: dict[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
        self.events.append((reason, message, warning))


class Patch:
    def __init__(self) -> None:
        self.status: dict[str, Any] = {}


def _body(status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "kind": "DriftMonitor",
        "metadata": {"name": "m", "namespace": "ns", "generation": 2},
        "status": status or {},
    }


def _refused(body: dict[str, Any]) -> dict[str, Any]:
    with reconciling("DriftMonitor"):
        raise api_error(422, '{"message":"spec.schedule: Invalid value: \\"61 * * * *\\"","code":422}')


def test_a_failure_is_a_condition_a_warning_event_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    api, patch = Recorder(), Patch()
    with pytest.raises(kopf.PermanentError):
        handled(api, _body(), patch, _refused, also=("Scheduled",))  # type: ignore[arg-type]
    ready = next(c for c in patch.status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("False", "Rejected", 2)
    assert {c["type"] for c in patch.status["conditions"]} == {"Ready", "Scheduled"}
    assert patch.status["phase"] == "Failed"
    assert [(reason, warning) for reason, _, warning in api.events] == [("Rejected", True)]
    assert any("ns/m: Rejected" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_a_failure_that_persists_is_announced_once() -> None:
    api, first = Recorder(), Patch()
    with pytest.raises(kopf.PermanentError):
        handled(api, _body(), first, _refused)  # type: ignore[arg-type]
    again = Patch()
    handled(api, _body(first.status), again, _refused, timer=True)  # type: ignore[arg-type]  # a resync: no raise
    assert len(api.events) == 1
    assert again.status["conditions"][0]["reason"] == "Rejected"


def test_a_terminating_namespace_is_named() -> None:
    with pytest.raises(kopf.TemporaryError, match="namespace is being deleted"), reconciling("ModelVersion"):
        raise api_error(403, TERMINATING)
