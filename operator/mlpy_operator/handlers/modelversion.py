"""ModelVersion handlers: on change, on a resync timer, and when a child or a sibling changes."""

from __future__ import annotations

from typing import Any

import kopf

from mlpy_operator.constants import GROUP, LABEL_COMPONENT, LABEL_MANAGED_BY, LABEL_MODEL, VERSION
from mlpy_operator.handlers.errors import announce, handled, log, reconciling
from mlpy_operator.handlers.triggers import on_spec
from mlpy_operator.metrics import observed
from mlpy_operator.reconcile import modelversion as rec
from mlpy_operator.runtime import config, kube_client

PLURAL = "modelversions"
CHILD_LABELS = {LABEL_MANAGED_BY: "mlpy-operator", LABEL_COMPONENT: "model-server"}
RESYNC_SECONDS = 30


def _reconcile(body: dict[str, Any]) -> dict[str, Any]:
    """Reconcile and return the status; failures are classified by ``reconciling``."""
    with reconciling("ModelVersion"):
        status = rec.reconcile_model_version(kube_client(), body, defaults=config().pods("server"))
    verified = next(c for c in status["conditions"] if c["type"] == "ArtifactVerified")
    if verified["status"] == "False":  # a tampered artifact: said once, with both hashes
        announce(kube_client(), body, verified["reason"], verified["message"])
    return status


@on_spec(PLURAL)
def modelversion_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    handled(kube_client(), dict(body), patch, _reconcile)


@kopf.timer(GROUP, VERSION, PLURAL, interval=RESYNC_SECONDS, initial_delay=RESYNC_SECONDS, idle=5)
def modelversion_resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    """Recreates children deleted by hand and refreshes readiness even if an event was missed."""
    handled(kube_client(), dict(body), patch, _reconcile, timer=True)


@kopf.on.event("apps", "v1", "deployments", labels=CHILD_LABELS)
@kopf.on.event("v1", "services", labels=CHILD_LABELS)
def child_changed(body: kopf.Body, namespace: str | None, **_: Any) -> None:
    """A serving child changed or vanished: reconcile its owner at once (recreate, update readiness)."""
    owners = [
        o for o in body.get("metadata", {}).get("ownerReferences", []) if o.get("kind") == "ModelVersion"
    ]
    if not owners or namespace is None:
        return
    owner = kube_client().get(f"{GROUP}/{VERSION}", "ModelVersion", owners[0]["name"], namespace)
    if owner is None or owner["metadata"].get("deletionTimestamp"):
        return
    try:
        status = _reconcile(owner)
    except (kopf.PermanentError, kopf.TemporaryError) as exc:
        # The ModelVersion's own handler writes this failure to its status and retries it.
        log.info(
            "ModelVersion %s/%s, after its %s changed: %s",
            namespace,
            owners[0]["name"],
            body.get("kind"),
            exc,
        )
        return
    kube_client().patch_status("ModelVersion", owner["metadata"]["name"], namespace, status)


@kopf.on.event(GROUP, VERSION, PLURAL)
def modelversion_deleted(event: kopf.RawEvent, body: kopf.Body, namespace: str | None, **_: Any) -> None:
    """When a version goes, another production version of its model may now take the stable Service."""
    if event.get("type") != "DELETED" or namespace is None:
        return
    model = (body.get("spec") or {}).get("model")
    if not model:
        return
    with observed("ModelVersion"):
        holder = rec.reconcile_stable_service(kube_client(), namespace, model)
        rec.refresh_siblings(kube_client(), namespace, model, holder, skip=body["metadata"]["name"])


__all__ = [
    "LABEL_MODEL",
    "child_changed",
    "modelversion_changed",
    "modelversion_deleted",
    "modelversion_resync",
]
