"""ModelVersion: serving Deployment and Service per version, one stable Service per model for production."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mlpy_operator import audit_trail
from mlpy_operator.audit_trail import selector_text
from mlpy_operator.builders import modelversion as build
from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.builders.experiment import router_name
from mlpy_operator.builders.ownership import owned, owner_reference
from mlpy_operator.conditions import condition, merge_conditions
from mlpy_operator.constants import API_VERSION, ARTIFACT_ANNOTATION, LABEL_MODEL_VERSION
from mlpy_operator.errors import SpecError
from mlpy_operator.kube import Kube
from mlpy_operator.probe import readiness_reason
from mlpy_operator.specs import ModelVersionSpec, object_ref

log = logging.getLogger(__name__)
KIND = "ModelVersion"


Verification = tuple[bool | None, str, str]


def artifact_verification(
    pods: list[dict[str, Any]], spec: ModelVersionSpec, probe: Callable[[str], str | None]
) -> Verification:
    """Whether a pod serving *this* spec's artifact (its hash is in the pod template) loaded it.

    A pod that is up but not Ready is asked why (``probe``): a hash mismatch names both hashes.
    """
    current = [
        p
        for p in pods
        if ((p.get("metadata") or {}).get("annotations") or {}).get(ARTIFACT_ANNOTATION) == spec.sha256
        and not (p.get("metadata") or {}).get("deletionTimestamp")
    ]
    if any(_pod_ready(p) for p in current):
        return (
            True,
            "ServerLoaded",
            f"a serving pod loaded the artifact and matched sha256 {spec.sha256[:12]}...",
        )
    for pod in current:
        ip = (pod.get("status") or {}).get("podIP")
        reason = probe(ip) if ip and (pod.get("status") or {}).get("phase") == "Running" else None
        if reason and "integrity check" in reason:
            return (
                False,
                "HashMismatch",
                f"{reason}; the pod refuses to serve it, so no traffic reaches this artifact",
            )
    return None, "Pending", "no serving pod has loaded the artifact yet"


def _rolled_out(deployment: dict[str, Any], spec: ModelVersionSpec) -> bool:
    """The Deployment reports its current template rolled out, every replica updated and Ready."""
    status = deployment.get("status") or {}
    generation = (deployment.get("metadata") or {}).get("generation")
    return bool(
        spec.replicas > 0
        and status.get("observedGeneration") == generation
        and status.get("updatedReplicas") == spec.replicas == status.get("readyReplicas")
        and status.get("replicas") == spec.replicas
    )


def _pod_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def desired_status(
    body: dict[str, Any],
    spec: ModelVersionSpec,
    ready_replicas: int,
    holder: str | None,
    verification: Verification | None = None,
    replicas: int | None = None,
) -> dict[str, Any]:
    """Phase and conditions from what the cluster reports; pure, so it is tested without a cluster.

    ``verification`` comes from the version's pods (``artifact_verification``); without it, a ready
    replica counts as verified. ``replicas``: the pods the Deployment has now (its status), for the
    scale subresource; the ready ones when not known.
    """
    ref = object_ref(body)
    generation = ref.generation
    conditions = []
    if spec.replicas == 0:
        ready = condition("Ready", False, "ScaledToZero", "spec.replicas is 0", generation)
    elif ready_replicas >= spec.replicas:
        ready = condition(
            "Ready", True, "Available", f"{ready_replicas}/{spec.replicas} replicas ready", generation
        )
    else:
        ready = condition(
            "Ready", False, "Progressing", f"{ready_replicas}/{spec.replicas} replicas ready", generation
        )
    if verification is None:
        verification = (
            (
                True,
                "ServerLoaded",
                f"a serving pod loaded the artifact and matched sha256 {spec.sha256[:12]}...",
            )
            if ready_replicas > 0
            else (None, "Pending", "no serving pod has loaded the artifact yet")
        )
    ok, why, message = verification
    if ok is False:  # old pods may still serve the previous artifact, but this spec cannot be reached
        ready = condition("Ready", False, why, message, generation)
    conditions.append(ready)
    conditions.append(condition("ArtifactVerified", ok, why, message, generation))
    conflict = spec.stage == "production" and holder is not None and holder != ref.name
    stale: tuple[str, ...] = ()
    if spec.stage != "production":
        stale = ("Conflict",)  # only a production version can hold or contend for the stable Service
    else:
        if conflict:
            conditions.append(
                condition(
                    "Conflict",
                    True,
                    "AnotherProductionVersion",
                    f"{holder} is already production for model {spec.model}; "
                    "set its stage to archived or none first",
                    generation,
                )
            )
        else:
            conditions.append(
                condition(
                    "Conflict",
                    False,
                    "Holder",
                    "this version serves the model's production traffic",
                    generation,
                )
            )
    if conflict:
        phase = "Conflict"
    elif ok is False:
        phase = "Failed"
    elif spec.replicas == 0:
        phase = "ScaledDown"
    elif ready["status"] == "True":
        phase = "Ready"
    else:
        phase = "Progressing"
    status = body.get("status") or {}
    url = build.endpoint(ref.name, ref.namespace)
    return {
        "phase": phase,
        "observedGeneration": generation,
        "readyReplicas": ready_replicas,
        # The scale subresource's: `kubectl scale` and a HorizontalPodAutoscaler read these.
        "replicas": ready_replicas if replicas is None else replicas,
        "selector": f"{LABEL_MODEL_VERSION}={ref.name}",
        "endpoint": url,
        "url": url,
        # The version's model card, served by its own pods (GET /models/{model}/card).
        "card": f"{url}/models/{spec.model}/card",
        "conditions": merge_conditions(status.get("conditions"), conditions, remove=stale),
    }


def _ready_replicas(deployment: dict[str, Any] | None) -> int:
    if not deployment:
        return 0
    return int((deployment.get("status") or {}).get("readyReplicas") or 0)


def _is_production(mv: dict[str, Any], model: str) -> bool:
    spec = mv.get("spec") or {}
    deleting = (mv.get("metadata") or {}).get("deletionTimestamp")
    return spec.get("model") == model and spec.get("stage") == "production" and not deleting


def routing_experiment(
    kube: Kube, namespace: str, model: str, current: tuple[str, bool] | None = None
) -> dict[str, Any] | None:
    """The Experiment whose router fronts the model, if any: the oldest that routes.

    An Experiment routes once its router has a ready pod and while it runs (or, concluded with
    manual promotion, sends all traffic to its winner until someone promotes it). A Pending or
    Failed Experiment, or one whose router is not ready, never takes production traffic.
    ``current`` is the Experiment being reconciled right now, with whether it routes (its status is
    not written yet).
    """
    experiments = [
        e
        for e in kube.list(API_VERSION, "Experiment", namespace, field_selector=f"spec.model={model}")
        if not e["metadata"].get("deletionTimestamp")
    ]
    experiments.sort(key=lambda e: (e["metadata"].get("creationTimestamp", ""), e["metadata"]["name"]))
    for experiment in experiments:
        name = experiment["metadata"]["name"]
        if current is not None and current[0] == name:
            if current[1]:
                return experiment
            continue
        if experiment_routes(experiment, _router_ready(kube, namespace, name)):
            return experiment
    return None


def experiment_routes(experiment: dict[str, Any], router_ready: bool) -> bool:
    status = experiment.get("status") or {}
    phase = status.get("phase")
    released = phase == "Concluded" and (experiment.get("spec") or {}).get("promotion") == "auto"
    return router_ready and phase in ("Running", "Concluded") and not released


def _router_ready(kube: Kube, namespace: str, experiment: str) -> bool:
    return _ready_replicas(kube.get("apps/v1", "Deployment", router_name(experiment), namespace)) > 0


def reconcile_stable_service(
    kube: Kube, namespace: str, model: str, current: tuple[str, bool] | None = None
) -> str | None:
    """Point the model's stable Service at its production version (or a routing experiment's router).

    Returns the production version's name. The version already holding the Service keeps it while
    it stays production, so a second production version never steals traffic: it gets a Conflict
    condition instead. The Service lives as long as any version of the model (each is an owner):
    between productions it keeps its last target and says so, so its ClusterIP never changes.
    """
    versions = [
        mv
        for mv in kube.list(API_VERSION, KIND, namespace, field_selector=f"spec.model={model}")
        if not mv["metadata"].get("deletionTimestamp")
    ]
    candidates = sorted(
        (mv for mv in versions if _is_production(mv, model)),
        key=lambda mv: (mv["metadata"].get("creationTimestamp", ""), mv["metadata"]["name"]),
    )
    current_service = kube.get("v1", "Service", model, namespace)
    annotations = ((current_service or {}).get("metadata", {}).get("annotations")) or {}
    current_holder = annotations.get("mlpy.io/production")
    names = [mv["metadata"]["name"] for mv in candidates]
    experiment = routing_experiment(kube, namespace, model, current)
    holder_name = (str(current_holder) if current_holder in names else names[0]) if names else None
    if not versions:
        return None  # the Service goes with its last owner (the garbage collector removes it)
    routed_by = experiment["metadata"]["name"] if experiment else None
    if holder_name is None and routed_by is None:
        if current_service is None:
            return None  # never had a target: nothing to point at yet
        last = current_service["spec"].get("selector") or {}
        service = build.stable_service_between_productions(model, namespace, last)
    else:
        service = build.stable_service(model, namespace, holder_name, routed_by)
    # List items carry no kind: each version is named as the owner it is.
    owners = [
        owner_reference({**mv, "apiVersion": API_VERSION, "kind": KIND}, controller=False) for mv in versions
    ]
    service["metadata"]["ownerReferences"] = owners
    kube.apply(service)
    before = None if current_service is None else selector_text(current_service["spec"].get("selector"))
    after = selector_text(service["spec"].get("selector"))
    if current_service is None or before != after:
        target = f"experiment {routed_by}'s router" if routed_by else f"production version {holder_name}"
        audit_trail.record(
            "operator.service",
            f"service/{namespace}/{model}",
            from_value=before,
            to_value=after,
            reason=f"{'created for' if current_service is None else 'switched to'} {target}",
        )
    return holder_name


def refresh_siblings(kube: Kube, namespace: str, model: str, holder: str | None, skip: str) -> None:
    """Other versions of the model learn whether they are (still) in conflict; what their own pods
    told about their artifacts stays as it is."""
    for mv in kube.list(API_VERSION, KIND, namespace, field_selector=f"spec.model={model}"):
        name = mv["metadata"]["name"]
        if name == skip or mv["metadata"].get("deletionTimestamp"):
            continue
        try:
            spec = ModelVersionSpec.from_spec(mv["spec"])
        except SpecError:
            continue
        ready = _ready_replicas(kube.get("apps/v1", "Deployment", name, namespace))
        status = desired_status(mv, spec, ready, holder, _known_verification(mv))
        kube.patch_status(KIND, name, namespace, status)


def _known_verification(mv: dict[str, Any]) -> Verification | None:
    known = next(
        (c for c in (mv.get("status") or {}).get("conditions") or [] if c.get("type") == "ArtifactVerified"),
        None,
    )
    if known is None:
        return None
    ok = {"True": True, "False": False}.get(str(known.get("status")))
    return ok, str(known.get("reason", "")), str(known.get("message", ""))


def reconcile_model_version(
    kube: Kube,
    body: dict[str, Any],
    *,
    defaults: PodDefaults | None = None,
    probe: Callable[[str], str | None] = readiness_reason,
) -> dict[str, Any]:
    """Apply the version's children and the model's stable Service; returns the status to write.

    Raises SpecError for a spec that cannot be acted on (the caller reports it and stops retrying).
    """
    ref = object_ref(body)
    spec = ModelVersionSpec.from_spec(body.get("spec") or {})
    deployment = kube.apply(owned(build.deployment(ref.name, ref.namespace, spec, defaults), body))
    kube.apply(owned(build.service(ref.name, ref.namespace, spec), body))
    holder = reconcile_stable_service(kube, ref.namespace, spec.model)
    refresh_siblings(kube, ref.namespace, spec.model, holder, skip=ref.name)
    if _rolled_out(deployment, spec):  # every pod is of this spec and Ready: verified, no need to look
        verification: Verification = (
            True,
            "ServerLoaded",
            f"every serving pod loaded the artifact and matched sha256 {spec.sha256[:12]}...",
        )
    else:
        pods = kube.list("v1", "Pod", ref.namespace, label_selector=f"{LABEL_MODEL_VERSION}={ref.name}")
        verification = artifact_verification(pods, spec, probe)
    current = int((deployment.get("status") or {}).get("replicas") or 0)
    return desired_status(body, spec, _ready_replicas(deployment), holder, verification, current)
