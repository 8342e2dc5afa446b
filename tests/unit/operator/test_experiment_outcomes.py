"""How experiments end on an in-memory API: what a guardrail rollback forbids, and what a canary that
completes promotes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlpy.experiments import VariantStats
from mlpy.experiments.backends import MemoryStats
from mlpy.experiments.guardrails import WINDOWS
from mlpy_operator.builders import experiment as build
from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.reconcile import experiment as exp_rec
from tests.unit.operator.fake_kube import FakeKube
from tests.unit.operator.test_reconcile_statuses import NS, selector, version, weighted_experiment

DEFAULTS = PodDefaults(env={"MLPY_EXPERIMENT_STATS": "redis://stats:6379/0"})
KEY = build.stats_key(NS, "ab")


def proportions(control: float, candidate: float, n: int = 20_000) -> dict[str, VariantStats]:
    """``n`` outcomes per variant, half the traffic each, with these success rates."""
    return {
        name: VariantStats(n, float(n), n, rate * n, rate * n)
        for name, rate in (("control", control), ("candidate", candidate))
    }


@pytest.mark.parametrize("rolled_back", [True, False])
def test_a_candidate_rolled_back_by_its_guardrails_never_wins_on_its_metric(rolled_back: bool) -> None:
    """Its metric was better before it broke (without the rollback, that evidence ships it): the
    routers send it nothing, and the decision that would ship it concludes with the control instead,
    so nothing promotes it."""
    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    body = weighted_experiment(kube, guardrails={"maxErrorRate": 0.05}, promotion="auto")
    backend = MemoryStats()
    backend.add(KEY, proportions(0.10, 0.13))
    reason = "variant candidate breached its guardrails in 3 consecutive windows of 10s: error rate 40.0%"
    if rolled_back:
        backend.publish_weights(KEY, {"control": 0.5, "candidate": 0.0}, "b", reason)
    status, winner = exp_rec.reconcile_experiment(kube, body, defaults=DEFAULTS, backend=backend)
    if not rolled_back:
        assert (status["decision"], winner) == ("ship", "candidate")
        return
    assert (status["phase"], status["decision"]) == ("Concluded", "roll_back")
    assert (status["winner"], winner) == ("control", "control")
    assert status["weights"] == {"control": 1.0, "candidate": 0.0}
    assert status["reasons"] == [f"candidate led on the metric but its guardrails rolled it back ({reason})"]
    assert status["rollback"]["reason"] == reason


class _Config:
    """The operator's configuration as the handler reads it: the routers' pod defaults."""

    def pods(self, _kind: str) -> PodDefaults:
        return DEFAULTS


def test_a_canary_that_completes_is_promoted_like_a_shipped_experiment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handler's path, as the operator's timer runs it: a canary held at its maximum for an
    interval ships, and with ``promotion: auto`` its version becomes production, the old one is
    archived, an Event says so, and the model's stable Service then selects the new version."""
    from mlpy_operator.handlers import experiment as handler
    from mlpy_operator.reconcile.modelversion import reconcile_stable_service

    kube, backend = FakeKube(), MemoryStats()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    since = datetime.now(UTC) - timedelta(seconds=120)
    body = weighted_experiment(
        kube,
        strategy="canary",
        promotion="auto",
        guardrails={"maxErrorRate": 0.05},
        canary={"stepWeight": 50, "maxWeight": 50, "intervalSeconds": 60},
        status={
            "phase": "Running",
            "startedAt": "2026-12-01T00:00:00Z",
            "canary": {"step": 1, "weight": 50.0, "since": since.isoformat()},
        },
    )
    backend.add(KEY, {WINDOWS + "candidate": VariantStats(assigned=12, n=12)})  # all held
    monkeypatch.setattr(handler, "kube_client", lambda: kube)
    monkeypatch.setattr(handler, "stats_backend", lambda: backend)
    monkeypatch.setattr(handler, "config", _Config)
    status = handler._reconcile(body)
    assert (status["phase"], status["decision"], status["winner"]) == ("Concluded", "ship", "candidate")
    stages = {
        name: kube.objects[("ModelVersion", NS, name)]["spec"]["stage"] for name in ("credit-v1", "credit-v2")
    }
    assert stages == {"credit-v1": "archived", "credit-v2": "production"}
    assert [(reason, message) for _, reason, message, _ in kube.events] == [
        ("Promoted", "candidate won (ship); credit-v2 is now production (archived credit-v1)")
    ]
    kube.patch_status("Experiment", "ab", NS, status)  # what kopf writes back
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    assert selector(kube) == {"mlpy.io/modelversion": "credit-v2"}


def test_a_breached_window_holds_a_canarys_step_and_it_resumes_once_its_windows_hold() -> None:
    """One breached window of the candidate, not yet the ``consecutive`` that roll it back: the step
    holds (the Guardrails condition says why, and a Warning Event once), and starts again; after an
    interval of windows that held, the rollout resumes. A step with no window judged waits."""
    from mlpy_operator.reconcile.canary import newly_held

    kube, backend = FakeKube(), MemoryStats()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    canary = {"stepWeight": 25, "maxWeight": 50, "intervalSeconds": 60}
    body = weighted_experiment(kube, strategy="canary", guardrails={"maxErrorRate": 0.05}, canary=canary)
    now, status = datetime(2026, 12, 2, tzinfo=UTC), {}

    def tick(seconds: int, *, judged: int = 0, breached: int = 0) -> tuple[str, float, str, str]:
        """The routers judged windows meanwhile; ``seconds`` later the operator reconciles."""
        nonlocal now, status
        backend.add(KEY, {WINDOWS + "candidate": VariantStats(judged, 0.0, judged, float(breached))})
        now += timedelta(seconds=seconds)
        old = status
        status, _ = exp_rec.reconcile_experiment(
            kube, {**body, "status": old}, defaults=DEFAULTS, backend=backend, now=now
        )
        guardrails = next(c for c in status["conditions"] if c["type"] == "Guardrails")
        held = newly_held(old, status)
        return guardrails["reason"], status["canary"]["weight"], held or "", status["reasons"][0]

    assert tick(0)[:3] == ("Holding", 25.0, "")
    reason, weight, event, said = tick(60)  # no window judged in the step: it waits
    assert (reason, weight, event) == ("Holding", 25.0, "")
    assert "waiting for a guardrail window to judge (one needs 20 requests" in said
    reason, weight, event, said = tick(10, judged=3, breached=1)
    assert (reason, weight) == ("Breaching", 25.0)
    assert "held: a guardrail window of the candidate breached" in said
    assert event == said  # said once, as a Warning Event
    assert tick(55, judged=5)[:3] == ("Breaching", 25.0, "")  # 65 s since the step began, 55 since the breach
    assert tick(5, judged=1)[:3] == ("Holding", 50.0, "")  # an interval that held: the next step
    assert status["phase"] == "Running"
