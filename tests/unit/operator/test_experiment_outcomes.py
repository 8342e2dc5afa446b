"""How experiments end on an in-memory API: what a guardrail rollback forbids, and what a canary that
completes promotes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlpy.experiments import VariantStats
from mlpy.experiments.backends import MemoryStats
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
