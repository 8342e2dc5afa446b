"""Experiment handlers: on change, and on a timer that reads the statistics and decides."""

from __future__ import annotations

from typing import Any

import kopf

from mlpy_operator.constants import GROUP, VERSION
from mlpy_operator.handlers.errors import reconciling
from mlpy_operator.kube import Kube
from mlpy_operator.reconcile import experiment as rec
from mlpy_operator.reconcile.modelversion import reconcile_stable_service
from mlpy_operator.runtime import config, kube, stats_backend

PLURAL = "experiments"


def _announce(api: Kube, body: dict[str, Any], status: dict[str, Any], winner: str) -> dict[str, Any]:
    """A first conclusion: an Event, and promotion (auto) or a recommendation (manual)."""
    spec = body["spec"]
    namespace = body["metadata"]["namespace"]
    decision = status["decision"]
    if not winner:
        api.event(
            body, "Inconclusive", f"no variant won ({'; '.join(status['reasons'])}); traffic back to control"
        )
        return status
    version = rec.winner_version(spec, winner)
    if spec.get("promotion", "manual") == "auto" and decision == "ship":
        archived = rec.promote(api, namespace, spec["model"], version)
        note = f" (archived {', '.join(archived)})" if archived else ""
        api.event(body, "Promoted", f"{winner} won ({decision}); {version} is now production{note}")
        return status
    recommendation = f"set spec.stage: production on ModelVersion {version}"
    api.event(
        body, "Concluded", f"{winner} won ({decision}); all traffic to it. Recommendation: {recommendation}"
    )
    return {**status, "recommendation": recommendation}


def _reconcile(body: dict[str, Any]) -> dict[str, Any]:
    api = kube()
    settings = config()
    try:
        with reconciling("Experiment"):
            status, winner = rec.reconcile_experiment(
                api,
                body,
                image=settings.server_image,
                stats_url=settings.experiment_stats_url,
                backend=stats_backend(),
            )
    except rec.MissingVersionsError as exc:
        raise kopf.TemporaryError(str(exc), delay=10) from exc
    if winner is not None:
        status = _announce(api, body, status, winner)
    return status


def _failed(body: dict[str, Any], message: str, reason: str) -> dict[str, Any]:
    from mlpy_operator.conditions import condition, merge_conditions

    generation = int(body["metadata"].get("generation", 1))
    old = (body.get("status") or {}).get("conditions")
    phase = "Failed" if reason == "InvalidSpec" else "Pending"
    return {
        "phase": phase,
        "observedGeneration": generation,
        "conditions": merge_conditions(old, [condition("RouterReady", False, reason, message, generation)]),
    }


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
def experiment_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    try:
        patch.status.update(_reconcile(dict(body)))
    except kopf.PermanentError as exc:
        patch.status.update(_failed(dict(body), str(exc), "InvalidSpec"))
        raise
    except kopf.TemporaryError as exc:
        patch.status.update(_failed(dict(body), str(exc), "Waiting"))
        raise


@kopf.timer(GROUP, VERSION, PLURAL, interval=config().experiment_interval_s, initial_delay=1)
def experiment_tick(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    """Read the routers' statistics, update weights and status; conclude when the decision is final."""
    try:
        patch.status.update(_reconcile(dict(body)))
    except (kopf.PermanentError, kopf.TemporaryError):
        return


@kopf.on.event(GROUP, VERSION, PLURAL)
def experiment_deleted(event: kopf.RawEvent, body: kopf.Body, namespace: str | None, **_: Any) -> None:
    """Without the experiment, the model's stable Service goes back to its production version."""
    if event.get("type") == "DELETED" and namespace:
        model = (body.get("spec") or {}).get("model")
        if model:
            reconcile_stable_service(kube(), namespace, model)
