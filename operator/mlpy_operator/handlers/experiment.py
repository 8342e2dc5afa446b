"""Experiment handlers: on change, and on a timer that reads the statistics and decides."""

from __future__ import annotations

import logging
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from mlpy_operator import audit_trail
from mlpy_operator.constants import GROUP, VERSION
from mlpy_operator.handlers.errors import announce, handled, reconciling
from mlpy_operator.handlers.triggers import on_spec
from mlpy_operator.kube import Kube
from mlpy_operator.reconcile import experiment as rec
from mlpy_operator.reconcile.canary import newly_held
from mlpy_operator.reconcile.modelversion import reconcile_stable_service
from mlpy_operator.runtime import config, kube_client, stats_backend
from mlpy_operator.specs import ExperimentSpec

PLURAL = "experiments"
log = logging.getLogger(__name__)


def _announce(
    api: Kube, body: dict[str, Any], spec: ExperimentSpec, status: dict[str, Any], winner: str
) -> dict[str, Any]:
    """A first conclusion: an Event, and promotion (auto) or a recommendation (manual)."""
    namespace = body["metadata"]["namespace"]
    decision = status["decision"]
    if not winner:
        api.event(
            body, "Inconclusive", f"no variant won ({'; '.join(status['reasons'])}); traffic back to control"
        )
        return status
    version = spec.versions[winner]
    if spec.promotion == "auto" and decision == "ship":
        archived = rec.promote(api, namespace, spec.model, version)
        audit_trail.record(
            "operator.experiment.promote",
            f"experiment/{namespace}/{body['metadata']['name']}",
            from_value=",".join(archived) or None,
            to_value=version,
            reason=f"{winner} won ({decision}); promotion: auto",
            detail={"model": spec.model, "archived": archived},
        )
        note = f" (archived {', '.join(archived)})" if archived else ""
        api.event(body, "Promoted", f"{winner} won ({decision}); {version} is now production{note}")
        return status
    recommendation = rec.manual_promotion(api, namespace, spec.model, version)
    api.event(
        body, "Concluded", f"{winner} won ({decision}); all traffic to it. Recommendation: {recommendation}"
    )
    return {**status, "recommendation": recommendation}


def _reconcile(body: dict[str, Any]) -> dict[str, Any]:
    api = kube_client()
    with reconciling("Experiment"):
        spec = ExperimentSpec.from_spec(body.get("spec") or {})
        status, winner = rec.reconcile_experiment(
            api, body, spec=spec, defaults=config().pods("router"), backend=stats_backend()
        )
    if winner is not None:
        status = _announce(api, body, spec, status, winner)
    old = body.get("status") or {}
    # The Guardrails condition says both too; after a rollback the stable Service still routes
    # through the router, which sends the variant nothing.
    _warn(api, body, "RolledBack", rec.newly_rolled_back(old, status))
    _warn(api, body, "CanaryHeld", newly_held(old, status))
    if status.get("conditions") and not _stats_configured(status):
        announce(api, body, "NotConfigured", rec.NO_STATS_STORE)
    return status


def _warn(api: Kube, body: dict[str, Any], reason: str, message: str | None) -> None:
    """A Warning Event and a log line, when there is something to say."""
    if message is None:
        return
    log.warning("Experiment %s: %s", body["metadata"].get("name"), message)
    try:
        api.event(body, reason, message, warning=True)
    except ApiException as exc:  # the Event is a courtesy: the condition and the log line stay
        log.warning("could not post the %s Event (%s)", reason, exc.status)


def _stats_configured(status: dict[str, Any]) -> bool:
    return any(c["type"] == "StatsStore" and c["status"] == "True" for c in status["conditions"])


@on_spec(PLURAL)
def experiment_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    handled(kube_client(), dict(body), patch, _reconcile, also=("RouterReady",))


@kopf.timer(GROUP, VERSION, PLURAL, interval=config().experiment_interval_s, initial_delay=1)
def experiment_tick(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    """Read the routers' statistics, update weights and status; conclude when the decision is final."""
    handled(kube_client(), dict(body), patch, _reconcile, also=("RouterReady",), timer=True)


@kopf.on.event(GROUP, VERSION, PLURAL)
def experiment_deleted(event: kopf.RawEvent, body: kopf.Body, namespace: str | None, **_: Any) -> None:
    """Without the experiment, the model's stable Service goes back to its production version."""
    if event.get("type") == "DELETED" and namespace:
        model = (body.get("spec") or {}).get("model")
        if model:
            reconcile_stable_service(kube_client(), namespace, model)
