"""The DriftMonitor's CronJob: read the prediction log's window, check drift, write the verdict.

Runs as ``python -m mlpy_operator.drift_job`` with the environment the CronJob sets; the same
``mlpy.drift.check`` the ``mlpy drift check`` command runs does the statistics.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mlpy.errors import MlpyError
from mlpy_operator.conditions import now_iso
from mlpy_operator.constants import API_VERSION
from mlpy_operator.reconcile.driftmonitor import KIND, failed_check_status, verdict_status
from mlpy_operator.specs import parse_duration

log = logging.getLogger("mlpy.drift_job")


def current_window(settings: Mapping[str, Any], store: str, now: datetime) -> Any:
    """The logged features of the window and the model's logged outputs (``prediction``), as a DataFrame.

    The other metadata columns are dropped; ``prediction`` counts only where the reference has it.
    """
    from mlpy.predlog import META_COLUMNS, read_window

    since = now - parse_duration(str(settings["window"]), "spec.window")
    frame = read_window(store, str(settings["model"]), since, now, version=settings.get("version"))
    return frame.drop(columns=[c for c in META_COLUMNS if c in frame.columns and c != "prediction"])


def version_importance(settings: Mapping[str, Any], store: str) -> Any:
    """The monitored version's feature importance from the registry; None when it has none."""
    from mlpy.registry import ModelRegistry

    try:
        version = ModelRegistry(store).get_version(
            str(settings["model"]), settings.get("version") or "@production"
        )
    except MlpyError as exc:
        log.info("no feature importance for the drift weights: %s", exc)
        return None
    return version.importance


def run_check(settings: Mapping[str, Any], current: Any, importance: Any = None) -> Any:
    """The DriftReport of the window against the reference (data file or stored ``.npz`` profile).

    ``importance`` (the version's) weighs the columns' drift into the report's weighted score.
    """
    from mlpy.drift import DriftProfile, check

    reference: Any = settings["reference"]
    if str(reference).endswith(".npz"):
        reference = DriftProfile.load(reference)
    return check(
        reference,
        current,
        methods=settings.get("methods") or None,
        thresholds=settings.get("thresholds") or None,
        drift_share=float(settings.get("driftShare", 0.5)),
        features=settings.get("features") or None,
        importance=importance,
    )


def main(env: Mapping[str, str] = os.environ, now: datetime | None = None) -> int:
    from mlpy.config import Locations
    from mlpy.drift import record
    from mlpy_operator.runtime import kube_client

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    name, namespace = env["MLPY_DRIFT_MONITOR"], env["MLPY_NAMESPACE"]
    settings = json.loads(env["MLPY_DRIFT_SETTINGS"])
    store = env.get("MLPY_STORE") or Locations.resolve().store
    api = kube_client()
    body = api.get(API_VERSION, KIND, name, namespace)
    if body is None:
        log.error("DriftMonitor %s/%s no longer exists", namespace, name)
        return 1
    old = body.get("status") or {}
    generation = int(body["metadata"].get("generation", 1))
    ran_at = now_iso()
    now = now or datetime.now(UTC)
    try:
        current = current_window(settings, store, now)
        if len(current) == 0:
            message = f"no predictions of {settings['model']} logged in the last {settings['window']}"
            api.patch_status(
                KIND, name, namespace, failed_check_status(old, "NoData", message, ran_at, generation)
            )
            log.warning(message)
            return 0
        report = run_check(settings, current, version_importance(settings, store))
        summary = dict(report.to_dict())
    except MlpyError as exc:
        api.patch_status(
            KIND, name, namespace, failed_check_status(old, "CheckFailed", str(exc), ran_at, generation)
        )
        log.error("drift check failed: %s", exc)
        return 2
    status = verdict_status(old, summary, ran_at, generation)
    api.patch_status(KIND, name, namespace, status)
    # The status keeps the recent past; the metadata store keeps every check.
    record(report, store=store, dataset=f"{namespace}/{name}")
    gateway = env.get("MLPY_PUSHGATEWAY")
    if gateway:
        from mlpy.drift import push

        try:
            push(report, gateway, dataset=f"{namespace}/{name}", job="mlpy-drift-monitor")
        except MlpyError as exc:
            # The verdict is already in the status; a missing Pushgateway only costs the metric.
            log.warning("%s", exc)
    if status["datasetDrift"]:
        columns = ", ".join(status["driftedColumns"])
        api.event(body, "DriftDetected", f"drift share {status['driftShare']:.2f}: {columns}", warning=True)
    log.info(
        "drift %s: share %.3f", "detected" if status["datasetDrift"] else "not detected", status["driftShare"]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
