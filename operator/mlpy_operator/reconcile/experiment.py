"""Experiment: run the router, read the shared statistics, report, conclude, and (optionally) promote."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from mlpy.audit import acting_as
from mlpy.experiments import (
    Evaluation,
    GuardrailWindows,
    MirrorReport,
    PublishedWeights,
    StatsBackend,
    Strategy,
    evaluate,
    normalise,
)
from mlpy_operator import audit_trail
from mlpy_operator.builders import experiment as build
from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.builders.modelversion import endpoint
from mlpy_operator.builders.ownership import owned
from mlpy_operator.conditions import condition, merge_conditions, now_iso
from mlpy_operator.constants import API_VERSION
from mlpy_operator.errors import SpecError, WaitingError
from mlpy_operator.kube import Kube
from mlpy_operator.reconcile.canary import (
    CanaryOutcome,
    canary_step,
    progress_status,
    publish_step,
    step_weights,
)
from mlpy_operator.reconcile.modelversion import experiment_routes, reconcile_stable_service
from mlpy_operator.specs import ExperimentSpec, object_ref

log = logging.getLogger(__name__)
KIND = "Experiment"
FINAL = {"ship", "roll_back", "inconclusive"}


class MissingVersionsError(WaitingError):
    """Variants name ModelVersions that do not exist (yet): wait and try again."""


def upstreams(kube: Kube, namespace: str, spec: ExperimentSpec) -> dict[str, str]:
    """Each variant's in-cluster URL, after checking its ModelVersion serves the experiment's model."""
    urls: dict[str, str] = {}
    missing = []
    mirror = spec.config.mirror
    shadow = {build.MIRROR: mirror.model_version} if mirror is not None and mirror.model_version else {}
    for variant, version in {**spec.versions, **shadow}.items():
        mv = kube.get(API_VERSION, "ModelVersion", version, namespace)
        if mv is None:
            missing.append(version)
            continue
        served = (mv.get("spec") or {}).get("model")
        if served != spec.model:
            what = "the mirror" if variant == build.MIRROR else f"variant {variant}"
            raise SpecError(f"{what}: ModelVersion {version} serves model {served!r}, not {spec.model!r}")
        urls[variant] = endpoint(version, namespace)
    if missing:
        raise MissingVersionsError(f"ModelVersion {', '.join(missing)} not found in {namespace}")
    return urls


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def final_weights(spec: ExperimentSpec, winner: str | None) -> dict[str, float]:
    """All traffic to the winner; with no winner (inconclusive), back to the control."""
    chosen = winner or spec.config.control
    return {name: (1.0 if name == chosen else 0.0) for name in spec.variants}


#: Said on an Experiment when the routers have nowhere to record samples.
NO_STATS_STORE = (
    "the routers have nowhere to record samples, so this experiment can never decide: set the chart "
    "value stores.metadata (a SQL URL) or stores.experimentStats (redis://...), i.e. the operator's "
    "MLPY_EXPERIMENT_STATS"
)


def without_rolled_back(report: dict[str, Any], rollback: PublishedWeights, control: str) -> dict[str, Any]:
    """A variant a guardrail rolled back never wins, as an aborted canary is never promoted in Flagger
    or Argo Rollouts: a decision to ship it concludes with the control instead (``roll_back``)."""
    winner = report["winner"]
    if report["decision"] != "ship" or winner is None or rollback.weights.get(winner, 0.0) > 0:
        return report
    reason = f"{winner} led on the metric but its guardrails rolled it back ({rollback.reason})"
    return {**report, "decision": "roll_back", "winner": control, "reasons": [reason]}


def router_replicas(kube: Kube, namespace: str, spec: ExperimentSpec) -> int:
    """``spec.router.replicas``, else as many as the production version serves with (at least 1)."""
    if spec.router_replicas:
        return spec.router_replicas
    production = kube.list(
        API_VERSION,
        "ModelVersion",
        namespace,
        field_selector=f"spec.model={spec.model},spec.stage=production",
    )
    return max([1, *(int((mv.get("spec") or {}).get("replicas", 1)) for mv in production)])


def reconcile_experiment(
    kube: Kube,
    body: dict[str, Any],
    *,
    defaults: PodDefaults,
    backend: StatsBackend | None,
    spec: ExperimentSpec | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Apply the router and compute the status; returns (status, winner just decided or None).

    ``spec`` is the body's, parsed (by the caller, who needs it too, or here). Raises SpecError for a
    spec that cannot work and MissingVersionsError while variants are missing.
    """
    now = now or datetime.now(UTC)
    ref = object_ref(body)
    spec = spec or ExperimentSpec.from_spec(body.get("spec") or {})
    old = body.get("status") or {}
    urls = upstreams(kube, ref.namespace, spec)
    started = _parse_time(old.get("startedAt")) or now
    concluded_before = old.get("phase") == "Concluded"
    key = build.stats_key(ref.namespace, ref.name)
    stats = backend.load(key) if backend is not None else {}
    report = evaluation_status(evaluate(spec.config, stats, started, now, seed=ref.generation))
    # Weights the routers pinned themselves, saying why: a guardrail rolled a variant back.
    pinned = backend.published_weights(key) if backend is not None and not concluded_before else None
    rollback = pinned if pinned is not None and pinned.reason else None
    canary = None
    if spec.config.strategy is Strategy.canary and not concluded_before:
        # A canary decides by its steps and guardrails, not by the metric's test.
        windows = GuardrailWindows.of(stats, spec.variants[1])
        canary = canary_step(spec, old, rollback, now, windows)
        report = {
            **report,
            "decision": canary.decision,
            "winner": spec.variants[1] if canary.decision == "ship" else None,
            "reasons": [canary.reason],
        }
    elif rollback is not None:
        report = without_rolled_back(report, rollback, spec.config.control)
    if concluded_before and old.get("reasons"):
        report = {**report, "reasons": old["reasons"]}  # why it concluded stays said
    newly_decided: str | None = None
    if concluded_before:
        winner = old.get("winner")
        weights: dict[str, float] | None = final_weights(spec, winner)
        decision = old.get("decision")
    elif report["decision"] in FINAL:
        winner = report["winner"]
        weights = final_weights(spec, winner)
        decision = report["decision"]
        newly_decided = winner or ""
    else:
        winner, weights, decision = None, None, report["decision"]

    document = build.router_document(ref.namespace, ref.name, spec, urls, weights)
    stepped = None
    if canary is not None and weights is None:
        stepped = step_weights(spec, canary.progress)
        if backend is not None and rollback is None:
            with acting_as(audit_trail.operator_actor()):  # a SQL store's audit entry names the operator
                publish_step(backend, key, document, stepped, pinned)
    model = spec.model
    kube.apply(owned(build.config_map(ref.name, ref.namespace, model, document), body))
    replicas = router_replicas(kube, ref.namespace, spec)
    router = kube.apply(
        owned(
            build.deployment(
                ref.name,
                ref.namespace,
                model,
                document,
                defaults=defaults,
                replicas=replicas,
                resources=spec.router_resources,
                pod=spec.router_pod,
            ),
            body,
        )
    )
    kube.apply(owned(build.disruption_budget(ref.name, ref.namespace, model), body))
    kube.apply(owned(build.service(ref.name, ref.namespace, model), body))

    ready = int((router.get("status") or {}).get("readyReplicas") or 0)
    # A router's rollback publishes the other weights as they were (50/0): shown as the shares they route.
    pinned_shares = normalise(rollback.weights) if rollback is not None else None
    shown = weights or pinned_shares or stepped or report["weights"]
    phase = "Concluded" if (concluded_before or newly_decided is not None) else "Running"
    routes = experiment_routes({**body, "status": {"phase": phase}}, ready > 0)
    reconcile_stable_service(kube, ref.namespace, model, current=(ref.name, routes))
    generation = ref.generation
    stats_ok = "MLPY_EXPERIMENT_STATS" in defaults.env
    conditions = [
        condition(
            "RouterReady",
            ready > 0,
            "Available" if ready else "Progressing",
            f"{ready}/{replicas} router replica(s) ready"
            + ("; the model's stable Service routes through it" if routes else ""),
            generation,
        ),
        condition(
            "StatsStore",
            stats_ok,
            "Configured" if stats_ok else "NotConfigured",
            "routers record samples in the shared statistics store" if stats_ok else NO_STATS_STORE,
            generation,
        ),
        _guardrails_condition(spec, rollback, canary, generation),
        condition(
            "Concluded",
            phase == "Concluded",
            str(decision),
            "; ".join(report.get("reasons") or []) or str(decision),
            generation,
        ),
    ]
    conditions.append(ready_condition(conditions, generation, phase))
    status: dict[str, Any] = {
        "phase": phase,
        "observedGeneration": generation,
        "startedAt": old.get("startedAt") or now_iso(now),
        "weights": shown,
        "weightsSummary": " ".join(f"{k}={round(v * 100)}" for k, v in shown.items()),
        "variants": report["variants"],
        "pValue": report["pValue"],
        "lift": report["lift"],
        "decision": decision,
        "winner": winner,
        "reasons": report.get("reasons") or [],
        "srm": report.get("srm"),
        "router": build.router_name(ref.name),
        "conditions": merge_conditions(old.get("conditions"), conditions),
    }
    if spec.config.mirror is not None:
        status["mirror"] = {**spec.config.mirror.to_dict(), **MirrorReport.of(stats).to_document()}
    if canary is not None:
        status["canary"] = progress_status(canary.progress)
    elif old.get("canary"):
        status["canary"] = old["canary"]
    if rollback is not None:
        status["rollback"] = {"reason": rollback.reason, "revision": rollback.revision}
    elif concluded_before and old.get("rollback"):
        status["rollback"] = old["rollback"]
    if newly_decided is not None:
        status["concludedAt"] = now_iso(now)
    elif concluded_before:
        status["concludedAt"] = old.get("concludedAt")
        status["recommendation"] = old.get("recommendation")
    _audit(ref.namespace, ref.name, old, status, newly_decided)
    return status, newly_decided


def _audit(
    namespace: str, name: str, old: dict[str, Any], status: dict[str, Any], newly_decided: str | None
) -> None:
    """The audit entries of this reconcile: the router's first start, and a first conclusion."""
    subject = f"experiment/{namespace}/{name}"
    if not old.get("startedAt"):
        audit_trail.record(
            "operator.experiment.start",
            subject,
            to_value="Running",
            reason=f"router {status['router']} applied",
            detail={"weights": status["weights"]},
        )
    if newly_decided is not None:
        audit_trail.record(
            "operator.experiment.decision",
            subject,
            from_value=str(old.get("phase") or "Running"),
            to_value=str(status["decision"]),
            reason="; ".join(status["reasons"]) or None,
            detail={"winner": status["winner"], "weights": status["weights"]},
        )


def _guardrails_condition(
    spec: ExperimentSpec, rollback: PublishedWeights | None, canary: CanaryOutcome | None, generation: int
) -> dict[str, Any]:
    """False once a guardrail rolled a candidate back, or while a breached window holds a canary's step."""
    if rollback is not None:
        return condition("Guardrails", False, "RolledBack", rollback.reason, generation)
    if canary is not None and canary.progress.held:
        return condition("Guardrails", False, "Breaching", canary.reason, generation)
    return condition("Guardrails", True, "Holding", _guardrails_message(spec), generation)


def _guardrails_message(spec: ExperimentSpec) -> str:
    bounds = spec.config.guardrails
    if not bounds.enabled:
        return "no guardrails set (spec.guardrails: maxErrorRate, maxP99Ms, maxFairnessGap)"
    said = [f"error rate <= {bounds.max_error_rate:.1%}"] if bounds.max_error_rate is not None else []
    said += [f"p99 <= {bounds.max_p99_ms:g} ms"] if bounds.max_p99_ms is not None else []
    gap = bounds.max_fairness_gap
    said += [f"{bounds.fairness_metric} <= {gap:g}"] if gap is not None else []
    return f"every candidate within {' and '.join(said)}"


def newly_rolled_back(old: dict[str, Any], status: dict[str, Any]) -> str | None:
    """The reason of a rollback the previous status did not show yet (an Event says it once)."""
    now, before = status.get("rollback"), old.get("rollback")
    if now is None or (before is not None and before.get("revision") == now.get("revision")):
        return None
    return str(now["reason"])


def evaluation_status(evaluation: Evaluation) -> dict[str, Any]:
    """The analysis in the Experiment status's camelCase: weights, per-variant samples and mean, p-value,
    lift, decision, winner, the reasons and the sample-ratio check."""
    analysis = evaluation.analysis
    return {
        "weights": evaluation.weights,
        "variants": {
            name: {"samples": r.stats.n, "assigned": r.stats.assigned, "mean": r.stats.to_dict()["mean"]}
            for name, r in analysis.variants.items()
        },
        "pValue": analysis.p_value,
        "lift": analysis.lift,
        "decision": str(analysis.decision),
        "winner": analysis.winner,
        "reasons": analysis.reasons,
        "srm": None if analysis.srm is None else analysis.srm.to_dict(),
    }


def ready_condition(conditions: list[dict[str, Any]], generation: int, phase: str) -> dict[str, Any]:
    """``Ready`` (for ``kubectl wait``): the router serves and samples are recorded."""
    failing = [c for c in conditions if c["type"] in ("RouterReady", "StatsStore") and c["status"] != "True"]
    if failing:
        first = failing[0]
        return condition("Ready", False, first["reason"], first["message"], generation)
    return condition("Ready", True, phase, f"the experiment is {phase.lower()}", generation)


def manual_promotion(kube: Kube, namespace: str, model: str, version: str) -> str:
    """What to change, all in one commit, so the winner takes production without a Conflict."""
    production = f"spec.model={model},spec.stage=production"
    holders = [
        mv["metadata"]["name"]
        for mv in kube.list(API_VERSION, "ModelVersion", namespace, field_selector=production)
        if mv["metadata"]["name"] != version
    ]
    steps = [f"spec.stage: production on ModelVersion {version}"]
    steps += [f"spec.stage: archived on ModelVersion {name} (production now)" for name in holders]
    return "set " + " and ".join(steps) + (", in one change" if holders else "")


def promote(kube: Kube, namespace: str, model: str, version: str) -> list[str]:
    """Auto-promotion, the one spec write the operator makes: the winner becomes production, and any
    other production version of the model is archived. Returns the versions it archived."""
    archived = []
    production = f"spec.model={model},spec.stage=production"
    for mv in kube.list(API_VERSION, "ModelVersion", namespace, field_selector=production):
        name = mv["metadata"]["name"]
        if name != version:
            kube.patch_spec("ModelVersion", name, namespace, {"stage": "archived"})
            archived.append(name)
    kube.patch_spec("ModelVersion", version, namespace, {"stage": "production"})
    return archived
