"""Reconcile logic on an in-memory API: the stable Service, statuses and conditions a real run got wrong."""

from __future__ import annotations

from typing import Any

from mlpy_operator.reconcile import experiment as exp_rec
from mlpy_operator.reconcile.modelversion import (
    artifact_verification,
    desired_status,
    reconcile_stable_service,
)
from mlpy_operator.specs import ExperimentSpec, ModelVersionSpec
from tests.unit.operator.fake_kube import FakeKube

NS = "models"


def version(kube: FakeKube, name: str, stage: str, replicas: int = 1) -> dict[str, Any]:
    return kube.add(
        {
            "apiVersion": "mlpy.io/v1alpha1",
            "kind": "ModelVersion",
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "model": "credit",
                "version": int(name[-1]),
                "stage": stage,
                "replicas": replicas,
                "artifact": {"uri": f"s3://m/{name}", "sha256": "a" * 64},
            },
        }
    )


def experiment(kube: FakeKube, phase: str | None, router_ready: int, promotion: str = "auto") -> None:
    kube.add(
        {
            "apiVersion": "mlpy.io/v1alpha1",
            "kind": "Experiment",
            "metadata": {"name": "ab", "namespace": NS},
            "spec": {"model": "credit", "promotion": promotion, "variants": []},
            "status": {"phase": phase} if phase else {},
        }
    )
    kube.add(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "ab-router", "namespace": NS},
            "status": {"readyReplicas": router_ready},
        }
    )


def weighted_experiment(
    kube: FakeKube, *, status: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    """credit-v1 against credit-v2, half and half, on a proportion metric."""
    return kube.add(
        {
            "apiVersion": "mlpy.io/v1alpha1",
            "kind": "Experiment",
            "metadata": {"name": "ab", "namespace": NS},
            "spec": {
                "model": "credit",
                "strategy": "weighted",
                "variants": [
                    {"name": "control", "modelVersion": "credit-v1", "weight": 50},
                    {"name": "candidate", "modelVersion": "credit-v2", "weight": 50},
                ],
                "metric": {"name": "repaid", "goal": "maximize", "type": "proportion"},
                **spec,
            },
            "status": status or {},
        }
    )


def selector(kube: FakeKube) -> dict[str, str]:
    service = kube.get("v1", "Service", "credit", NS)
    assert service is not None
    return dict(service["spec"]["selector"])


def test_a_pending_experiment_never_takes_production_traffic() -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "production")
    experiment(kube, "Pending", router_ready=0)
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    assert selector(kube) == {"mlpy.io/modelversion": "credit-v1"}


def test_a_running_experiment_with_a_ready_router_fronts_the_model() -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "production")
    experiment(kube, "Running", router_ready=1)
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    assert selector(kube) == {"mlpy.io/experiment": "ab"}


def test_a_running_experiment_whose_router_is_down_does_not() -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "production")
    experiment(kube, "Running", router_ready=0)
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    assert selector(kube) == {"mlpy.io/modelversion": "credit-v1"}


def test_a_concluded_auto_experiment_hands_the_service_to_the_promoted_winner() -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "archived")
    version(kube, "credit-v2", "production")
    experiment(kube, "Concluded", router_ready=1, promotion="auto")
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    assert selector(kube) == {"mlpy.io/modelversion": "credit-v2"}


def test_a_demotion_before_the_promotion_keeps_the_service_and_its_target() -> None:
    """GitOps may apply the old version's `stage: archived` before the new one's `production`."""
    kube = FakeKube()
    v1 = version(kube, "credit-v1", "production")
    v2 = version(kube, "credit-v2", "none")
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    uid = kube.get("v1", "Service", "credit", NS)["metadata"]["uid"]  # type: ignore[index]
    kube.patch_spec("ModelVersion", "credit-v1", NS, {"stage": "archived"})
    assert reconcile_stable_service(kube, NS, "credit") is None  # type: ignore[arg-type]
    service = kube.get("v1", "Service", "credit", NS)
    assert service is not None
    assert service["metadata"]["uid"] == uid
    assert selector(kube) == {"mlpy.io/modelversion": "credit-v1"}
    assert "still serving credit-v1" in service["metadata"]["annotations"]["mlpy.io/note"]
    # Every version of the model owns it: it goes only with the last of them.
    owners = {o["uid"] for o in service["metadata"]["ownerReferences"]}
    assert owners == {v1["metadata"]["uid"], v2["metadata"]["uid"]}
    assert not any(o["controller"] for o in service["metadata"]["ownerReferences"])
    kube.patch_spec("ModelVersion", "credit-v2", NS, {"stage": "production"})
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    assert selector(kube) == {"mlpy.io/modelversion": "credit-v2"}
    assert kube.get("v1", "Service", "credit", NS)["metadata"]["uid"] == uid  # type: ignore[index]


def test_an_archived_version_drops_its_stale_conflict_condition() -> None:
    raw = {"model": "credit", "version": 1, "stage": "archived", "artifact": {"uri": "u", "sha256": "a" * 64}}
    stale = {"type": "Conflict", "status": "False", "reason": "Holder", "message": "serves production"}
    body = {
        "metadata": {"name": "credit-v1", "namespace": NS, "generation": 3},
        "status": {"conditions": [stale]},
    }
    status = desired_status(body, ModelVersionSpec.from_spec(raw), 1, holder="credit-v2")
    assert "Conflict" not in {c["type"] for c in status["conditions"]}
    assert status["url"] == "http://credit-v1.models.svc.cluster.local"
    assert status["card"] == "http://credit-v1.models.svc.cluster.local/models/credit/card"


def test_the_manual_recommendation_names_both_versions() -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    advice = exp_rec.manual_promotion(kube, NS, "credit", "credit-v2")  # type: ignore[arg-type]
    assert advice == (
        "set spec.stage: production on ModelVersion credit-v2 and "
        "spec.stage: archived on ModelVersion credit-v1 (production now), in one change"
    )


def test_router_replicas_follow_production_unless_the_spec_says() -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "production", replicas=3)

    def spec(model: str, **more: Any) -> ExperimentSpec:
        variants = [{"name": n, "modelVersion": f"{model}-{n}"} for n in ("a", "b")]
        return ExperimentSpec.from_spec({"model": model, "variants": variants, **more})

    assert exp_rec.router_replicas(kube, NS, spec("credit")) == 3  # type: ignore[arg-type]
    assert exp_rec.router_replicas(kube, NS, spec("credit", router={"replicas": 2})) == 2  # type: ignore[arg-type]
    assert exp_rec.router_replicas(kube, NS, spec("other")) == 1  # type: ignore[arg-type]


def _pod(sha: str, ready: bool, ip: str = "10.244.0.9") -> dict[str, Any]:
    return {
        "metadata": {"name": f"p-{sha[:3]}", "annotations": {"mlpy.io/artifact-sha256": sha}},
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


MISMATCH = (
    "waiting for credit:2: artifact s3://m/credit-v2 failed its integrity check: "
    f"expected sha256 {'b' * 64}, got {'c' * 64}"
)


def test_a_tampered_artifact_names_both_hashes_while_the_old_pod_serves() -> None:
    raw = {"model": "credit", "version": 2, "artifact": {"uri": "s3://m/credit-v2", "sha256": "b" * 64}}
    spec = ModelVersionSpec.from_spec(raw)
    pods = [_pod("a" * 64, ready=True), _pod("b" * 64, ready=False)]  # a stalled rollout
    asked: list[str] = []

    def probe(ip: str) -> str | None:
        asked.append(ip)
        return MISMATCH

    verification = artifact_verification(pods, spec, probe)
    assert verification[:2] == (False, "HashMismatch")
    assert "b" * 64 in verification[2]
    assert "c" * 64 in verification[2]
    assert asked == ["10.244.0.9"]
    body = {"metadata": {"name": "credit-v2", "namespace": NS, "generation": 2}}
    status = desired_status(body, spec, 1, holder=None, verification=verification)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (status["phase"], ready["status"], ready["reason"]) == ("Failed", "False", "HashMismatch")


def test_a_pod_of_the_current_artifact_being_ready_verifies_it() -> None:
    spec = ModelVersionSpec.from_spec(
        {"model": "credit", "version": 2, "artifact": {"uri": "u", "sha256": "b" * 64}}
    )
    assert artifact_verification([_pod("b" * 64, ready=True)], spec, lambda _ip: None)[0] is True
    # Only the old artifact's pod is ready: the new one is not verified yet.
    assert artifact_verification([_pod("a" * 64, ready=True)], spec, lambda _ip: None)[0] is None


def test_a_drift_monitor_without_a_prediction_log_names_the_chart_value() -> None:
    from mlpy_operator.builders.common import PodDefaults
    from mlpy_operator.reconcile.driftmonitor import reconcile_drift_monitor

    kube = FakeKube()
    body = kube.add(
        {
            "apiVersion": "mlpy.io/v1alpha1",
            "kind": "DriftMonitor",
            "metadata": {"name": "d", "namespace": NS},
            "spec": {"model": "credit", "reference": {"uri": "s3://r"}, "schedule": "0 * * * *"},
        }
    )
    status = reconcile_drift_monitor(kube, body, defaults=PodDefaults())  # type: ignore[arg-type]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == ("False", "NotConfigured")
    assert "stores.metadata" in conditions["PredictionLog"]["message"]
    configured = reconcile_drift_monitor(  # type: ignore[arg-type]
        kube, body, defaults=PodDefaults(env={"MLPY_STORE": "postgresql://db/mlpy"})
    )
    assert {c["type"]: c["status"] for c in configured["conditions"]}["Ready"] == "True"


def test_an_experiment_without_a_statistics_store_names_the_chart_value() -> None:
    from mlpy_operator.builders.common import PodDefaults

    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    body = weighted_experiment(kube)
    status, _ = exp_rec.reconcile_experiment(kube, body, defaults=PodDefaults(), backend=None)  # type: ignore[arg-type]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert (conditions["StatsStore"]["status"], conditions["StatsStore"]["reason"]) == (
        "False",
        "NotConfigured",
    )
    assert "stores.experimentStats" in conditions["StatsStore"]["message"]
    assert conditions["Ready"]["status"] == "False"
    # Its router is not Ready (no pods here): the stable Service stays on production.
    assert selector(kube) == {"mlpy.io/modelversion": "credit-v1"}
    assert kube.get("policy/v1", "PodDisruptionBudget", "ab-router", NS) is not None


def test_an_experiment_concludes_at_the_time_it_is_given() -> None:
    """The conclusion's time comes from the clock the reconcile is handed, like every other time in it."""
    from datetime import UTC, datetime

    from mlpy_operator.builders.common import PodDefaults

    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    body = weighted_experiment(
        kube,
        stopping={"maxDuration": "1h"},
        status={"phase": "Running", "startedAt": "2026-01-01T00:00:00Z"},
    )
    now = datetime(2026, 1, 1, 3, 0, 30, 123456, tzinfo=UTC)
    status, _ = exp_rec.reconcile_experiment(kube, body, defaults=PodDefaults(), backend=None, now=now)  # type: ignore[arg-type]
    assert status["phase"] == "Concluded"
    assert (status["startedAt"], status["concludedAt"]) == ("2026-01-01T00:00:00Z", "2026-01-01T03:00:30Z")


def test_a_guardrail_rollback_is_a_condition_and_an_event_once() -> None:
    """A router pinned the candidate at 0 (its guardrails breached): the status shows the weights and
    why, the Guardrails condition turns False, and only the first reconcile that sees it says it."""
    from mlpy.experiments.backends import MemoryStats
    from mlpy.experiments.guardrails import without
    from mlpy_operator.builders import experiment as build
    from mlpy_operator.builders.common import PodDefaults

    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    body = weighted_experiment(kube, guardrails={"maxErrorRate": 0.05})
    backend = MemoryStats()
    defaults = PodDefaults(env={"MLPY_EXPERIMENT_STATS": "redis://stats:6379/0"})
    status, _ = exp_rec.reconcile_experiment(kube, body, defaults=defaults, backend=backend)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert (conditions["Guardrails"]["status"], conditions["Guardrails"]["reason"]) == ("True", "Holding")
    assert conditions["Guardrails"]["message"] == "every candidate within error rate <= 5.0%"
    reason = (
        "variant candidate breached its guardrails in 3 consecutive windows of 10s: "
        "error rate 40.0% above 5.0%"
    )
    # What the router publishes: the candidate at 0, the control's weight as it was.
    pinned = without({"control": 0.5, "candidate": 0.5}, "candidate", "control")
    backend.publish_weights(build.stats_key(NS, "ab"), pinned, "b", reason)
    before = status
    status, _ = exp_rec.reconcile_experiment(
        kube, {**body, "status": before}, defaults=defaults, backend=backend
    )
    conditions = {c["type"]: c for c in status["conditions"]}
    assert (conditions["Guardrails"]["status"], conditions["Guardrails"]["reason"]) == ("False", "RolledBack")
    assert conditions["Guardrails"]["message"] == reason
    assert conditions["Ready"]["reason"] != "RolledBack"  # the router still serves: all to the control
    assert status["weights"] == {"control": 1.0, "candidate": 0.0}  # shares of the traffic, not 50/0
    assert status["weightsSummary"] == "control=100 candidate=0"
    assert status["rollback"] == {"reason": reason, "revision": 1}
    assert exp_rec.newly_rolled_back(before, status) == reason
    assert exp_rec.newly_rolled_back(status, status) is None


def test_a_canary_steps_on_the_operators_clock_and_the_routers_follow() -> None:
    """Each reconcile at most one step; the routers (an Experiment built from the router file, as a
    router pod builds it) adopt each step's weights; held at the maximum, the candidate ships."""
    from datetime import UTC, datetime, timedelta

    import yaml

    from mlpy.experiments import Experiment, ExperimentConfig, VariantStats
    from mlpy.experiments.backends import MemoryStats
    from mlpy.experiments.guardrails import WINDOWS
    from mlpy_operator.builders import experiment as build
    from mlpy_operator.builders.common import PodDefaults

    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    spec = {
        "strategy": "canary",
        "guardrails": {"maxErrorRate": 0.05},
        "canary": {"stepWeight": 25, "maxWeight": 50, "intervalSeconds": 60},
    }
    body = weighted_experiment(kube, **spec)
    backend, defaults = MemoryStats(), PodDefaults(env={"MLPY_EXPERIMENT_STATS": "redis://stats:6379/0"})
    now, status, router, seen = datetime(2026, 12, 2, tzinfo=UTC), {}, None, []
    document: dict[str, Any] = {}
    for _ in range(5):
        status, _ = exp_rec.reconcile_experiment(
            kube, {**body, "status": status}, defaults=defaults, backend=backend, now=now
        )
        if router is None:  # the router pod reads its file once; the steps reach it through the backend
            config_map = kube.get("v1", "ConfigMap", "ab-router", NS)
            assert config_map is not None
            document = yaml.safe_load(config_map["data"]["experiment.yaml"])
            config = ExperimentConfig.from_dict(document["spec"])
            router = Experiment.from_config(document["name"], config, backend=backend)
            assert router.current_weights() == {"control": 0.75, "candidate": 0.25}
        seen.append((status["phase"], router.refresh()["candidate"], status["canary"]["weight"]))
        now += timedelta(seconds=60)
        # The routers judged the candidate's guardrail windows meanwhile: all held.
        backend.add(build.stats_key(NS, "ab"), {WINDOWS + "candidate": VariantStats(assigned=6, n=6)})
    assert seen == [
        ("Running", 0.25, 25.0),
        ("Running", 0.5, 50.0),
        ("Concluded", 0.5, 50.0),  # held 50% for an interval: it ships
        ("Concluded", 0.5, 50.0),
        ("Concluded", 0.5, 50.0),
    ]
    assert (status["decision"], status["winner"]) == ("ship", "candidate")
    assert "held 50% of the traffic for 60s" in status["reasons"][0]
    config_map = kube.get("v1", "ConfigMap", "ab-router", NS)
    assert config_map is not None
    final = yaml.safe_load(config_map["data"]["experiment.yaml"])["spec"]
    assert {v["name"]: v["weight"] for v in final["variants"]} == {"control": 0, "candidate": 100}
    assert document["name"] == build.stats_key(NS, "ab")


def test_a_canary_rolled_back_by_its_guardrails_concludes_with_the_control() -> None:
    from datetime import UTC, datetime

    from mlpy.experiments.backends import MemoryStats
    from mlpy_operator.builders import experiment as build
    from mlpy_operator.builders.common import PodDefaults

    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    body = weighted_experiment(kube, strategy="canary", guardrails={"maxErrorRate": 0.05})
    backend, defaults = MemoryStats(), PodDefaults(env={"MLPY_EXPERIMENT_STATS": "redis://stats:6379/0"})
    now = datetime(2026, 12, 2, tzinfo=UTC)
    status, _ = exp_rec.reconcile_experiment(kube, body, defaults=defaults, backend=backend, now=now)
    reason = "variant candidate breached its guardrails in 3 consecutive windows: error rate 9% above 5%"
    backend.publish_weights(build.stats_key(NS, "ab"), {"control": 1.0, "candidate": 0.0}, "any", reason)
    status, winner = exp_rec.reconcile_experiment(
        kube, {**body, "status": status}, defaults=defaults, backend=backend, now=now
    )
    assert (status["phase"], status["decision"], winner) == ("Concluded", "roll_back", "")
    assert status["weights"] == {"control": 1.0, "candidate": 0.0}
    assert status["reasons"] == [f"canary stopped at 10%: {reason}"]
    assert status["rollback"]["reason"] == reason


def test_a_mirror_reaches_the_router_file_and_its_counts_the_status() -> None:
    import pytest
    import yaml

    from mlpy.experiments import MirrorCounts
    from mlpy.experiments.backends import MemoryStats
    from mlpy_operator.builders import experiment as build
    from mlpy_operator.builders.common import PodDefaults

    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    body = weighted_experiment(kube, mirror={"modelVersion": "credit-v3", "percent": 20})
    backend, defaults = MemoryStats(), PodDefaults(env={"MLPY_EXPERIMENT_STATS": "redis://stats:6379/0"})
    with pytest.raises(exp_rec.MissingVersionsError, match="credit-v3"):
        exp_rec.reconcile_experiment(kube, body, defaults=defaults, backend=backend)
    version(kube, "credit-v3", "none")
    counts = MirrorCounts(copies=10, failed=1, compared=8, agreed=6)
    for _ in range(9):
        counts.answered_in(12.0)
    backend.add(build.stats_key(NS, "ab"), counts.deltas())
    status, _ = exp_rec.reconcile_experiment(kube, body, defaults=defaults, backend=backend)
    config_map = kube.get("v1", "ConfigMap", "ab-router", NS)
    assert config_map is not None
    routed = yaml.safe_load(config_map["data"]["experiment.yaml"])["spec"]
    assert routed["mirror"] == {
        "modelVersion": "credit-v3",
        "percent": 20,
        "upstream": f"http://credit-v3.{NS}.svc.cluster.local",
    }
    assert status["mirror"]["copies"] == 10
    assert status["mirror"]["agreement"] == 0.75
    assert status["mirror"]["meanLatencyMs"] == 12.0
    assert set(status["variants"]) == {"control", "candidate"}  # the mirror is not a variant


def test_a_canarys_place_survives_the_round_trip_through_its_status() -> None:
    from datetime import UTC, datetime

    from mlpy.experiments import CanaryProgress
    from mlpy_operator.reconcile.canary import progress_from_status, progress_status

    progress = CanaryProgress(3, 45.0, datetime(2026, 12, 3, 8, 0, tzinfo=UTC), 12, 1, held=True)
    assert progress_status(progress) == {
        "step": 3,
        "weight": 45.0,
        "since": "2026-12-03T08:00:00+00:00",
        "guardrailWindows": {"judged": 12, "breached": 1},
        "held": True,
    }
    assert progress_from_status(progress_status(progress)) == progress
    assert progress_from_status(None) is None
    # A status written before the guardrail windows were kept: none seen, not held.
    older = {"step": 3, "weight": 45.0, "since": "2026-12-03T08:00:00+00:00"}
    assert progress_from_status(older) == CanaryProgress(3, 45.0, progress.since)
