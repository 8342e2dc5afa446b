"""How API failures turn into kopf's retries: quiet for what passes on its own, loud for the rest."""

from __future__ import annotations

from typing import Any

import kopf
import pytest
from kubernetes.client.exceptions import ApiException

from mlpy_operator.constants import API_VERSION
from mlpy_operator.handlers.errors import PermanentFailure, handled, reconciling, settled
from mlpy_operator.runtime import OperatorConfig
from tests.unit.operator.fake_kube import FakeKube

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
    again = Patch()  # the same failure again, as after a restart of the operator (its resume handler)
    with pytest.raises(kopf.PermanentError):
        handled(api, _body(first.status), again, _refused)  # type: ignore[arg-type]
    assert len(api.events) == 1
    assert again.status["conditions"][0]["reason"] == "Rejected"


def test_a_terminating_namespace_is_named() -> None:
    with pytest.raises(kopf.TemporaryError, match="namespace is being deleted"), reconciling("ModelVersion"):
        raise api_error(403, TERMINATING)


class RefusingCronJobs(FakeKube):
    """The API server refusing every CronJob with a 422 (as for ``schedule: "61 * * * *"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.cronjob_attempts = 0

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        if obj["kind"] == "CronJob":
            self.cronjob_attempts += 1
            raise api_error(422, '{"message":"spec.schedule: Invalid value: \\"61 * * * *\\"","code":422}')
        return super().apply(obj)


def test_a_refused_cronjob_is_tried_once_per_generation_not_on_every_timer_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlpy_operator.handlers import driftmonitor as handlers

    api = RefusingCronJobs()
    monkeypatch.setattr(handlers, "kube_client", lambda: api)
    monkeypatch.setattr(handlers, "config", lambda: OperatorConfig.from_env({}))
    spec = {"model": "credit", "reference": {"uri": "s3://b/credit.npz"}, "schedule": "61 * * * *"}
    api.add(
        {
            "apiVersion": API_VERSION,
            "kind": "DriftMonitor",
            "metadata": {"name": "m", "namespace": "ns"},
            "spec": spec,
        }
    )

    def run(handler: Any) -> dict[str, Any]:
        """One handler call, its status written back as kopf does (also when the handler raises)."""
        patch = Patch()
        try:
            handler(body=api.get(API_VERSION, "DriftMonitor", "m", "ns"), patch=patch)
        finally:
            api.patch_status("DriftMonitor", "m", "ns", patch.status)
        return patch.status

    with pytest.raises(kopf.PermanentError):
        run(handlers.drift_monitor_changed)
    for _ in range(3):  # resync ticks at the same generation: no new attempt, the failure stays said
        assert run(handlers.drift_monitor_resync) == {}
    assert api.cronjob_attempts == 1
    monitor = api.get(API_VERSION, "DriftMonitor", "m", "ns")
    assert monitor is not None
    ready = next(c for c in monitor["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Rejected")
    assert [reason for _, reason, _, warning in api.events if warning] == ["Rejected"]

    monitor["metadata"]["generation"] = 2  # the spec changed: tried again, once
    api.objects[("DriftMonitor", "ns", "m")] = monitor
    for _ in range(2):
        run(handlers.drift_monitor_resync)
    assert api.cronjob_attempts == 2


def test_only_what_a_new_spec_or_operator_can_change_is_settled() -> None:
    """Misconfigured may pass (a store back up): only InvalidSpec, Rejected and Forbidden settle."""
    ready = {"type": "Ready", "status": "False", "observedGeneration": 2}
    assert settled(_body({"conditions": [{**ready, "reason": "Rejected"}]}))
    assert settled(_body({"conditions": [{**ready, "reason": "Forbidden"}]}))
    assert not settled(_body({"conditions": [{**ready, "reason": "Misconfigured"}]}))
    assert not settled(_body({"conditions": [{**ready, "reason": "Rejected", "observedGeneration": 1}]}))


def test_a_monitor_applied_before_its_model_version_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a settled failure: the ModelVersion may be created a moment later (one apply of a folder)."""
    from mlpy_operator.handlers import driftmonitor as handlers

    api = FakeKube()
    monkeypatch.setattr(handlers, "kube_client", lambda: api)
    monkeypatch.setattr(handlers, "config", lambda: OperatorConfig.from_env({}))
    spec = {"modelVersion": "credit-v3", "reference": {"uri": "s3://b/credit.npz"}, "schedule": "0 * * * *"}
    body = api.add({"kind": "DriftMonitor", "metadata": {"name": "m", "namespace": "ns"}, "spec": spec})
    patch = Patch()
    with pytest.raises(kopf.TemporaryError, match="credit-v3 not found"):
        handlers.drift_monitor_changed(body=body, patch=patch)
    assert not settled({**body, "status": patch.status})
