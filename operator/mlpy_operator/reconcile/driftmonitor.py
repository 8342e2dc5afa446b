"""DriftMonitor: the CronJob and its identity from the operator; the verdict status from the job."""

from __future__ import annotations

from typing import Any

from mlpy_operator.builders import driftmonitor as build
from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.builders.ownership import owned
from mlpy_operator.conditions import condition, merge_conditions
from mlpy_operator.constants import API_VERSION
from mlpy_operator.errors import WaitingError
from mlpy_operator.kube import Kube
from mlpy_operator.specs import DriftMonitorSpec, object_ref

KIND = "DriftMonitor"
HISTORY = 20


def target(kube: Kube, namespace: str, spec: DriftMonitorSpec) -> tuple[str, str | None]:
    """The model (and version) whose logged predictions the job reads."""
    if spec.model:
        return spec.model, None
    assert spec.model_version is not None
    mv = kube.get(API_VERSION, "ModelVersion", spec.model_version, namespace)
    if mv is None:  # applied before its ModelVersion (one kubectl apply of a folder): it may come
        raise WaitingError(
            f"ModelVersion {spec.model_version} not found in {namespace}",
            hint="create it, or watch a model by name with spec.model",
        )
    return str(mv["spec"]["model"]), str(mv["spec"]["version"])


#: Said on a DriftMonitor when the job would read an empty file inside its own pod.
NO_PREDICTION_LOG = (
    "the serving pods log no predictions anywhere this job can read, so every check would see an "
    "empty window: set the chart value stores.metadata (a SQL URL), i.e. the operator's MLPY_PREDLOG_STORE"
)


def reconcile_drift_monitor(
    kube: Kube,
    body: dict[str, Any],
    *,
    defaults: PodDefaults,
    service_account: str | None = None,
) -> dict[str, Any]:
    """Apply the CronJob; with no shared ``service_account`` (the Helm chart can ship one), also a
    ServiceAccount and a Role that reach only this monitor."""
    ref = object_ref(body)
    raw = body.get("spec") or {}
    spec = DriftMonitorSpec.from_spec(raw)
    model, version = target(kube, ref.namespace, spec)
    settings = build.job_settings(raw, model, version)
    children = [
        build.cronjob(
            ref.name,
            ref.namespace,
            spec.schedule,
            settings,
            defaults=defaults,
            service_account=service_account,
        )
    ]
    if service_account is None:
        children += [
            build.service_account(ref.name, ref.namespace),
            build.role(ref.name, ref.namespace),
            build.role_binding(ref.name, ref.namespace),
        ]
    for child in children:
        kube.apply(owned(child, body))
    old = body.get("status") or {}
    scheduled = condition(
        "Scheduled",
        True,
        "CronJobReady",
        f"{build.job_name(ref.name)} runs on {spec.schedule!r}",
        ref.generation,
    )
    logged = "MLPY_STORE" in defaults.env
    log_condition = condition(
        "PredictionLog",
        logged,
        "Configured" if logged else "NotConfigured",
        "checks read the window the serving pods log" if logged else NO_PREDICTION_LOG,
        ref.generation,
    )
    ready = condition(
        "Ready",
        logged,
        "Scheduled" if logged else "NotConfigured",
        f"checks run on {spec.schedule!r}" if logged else NO_PREDICTION_LOG,
        ref.generation,
    )
    return {
        "observedGeneration": ref.generation,
        "cronJob": build.job_name(ref.name),
        "target": f"{model}:{version}" if version else model,
        "conditions": merge_conditions(old.get("conditions"), [scheduled, log_condition, ready]),
    }


def current_rows(report: dict[str, Any]) -> int | None:
    """The current window's row count, as the drift report writes it (``current.rows``)."""
    rows = (report.get("current") or {}).get("rows")
    return int(rows) if rows is not None else None


def verdict_status(
    old: dict[str, Any], report: dict[str, Any], ran_at: str, generation: int
) -> dict[str, Any]:
    """The status a check writes: last verdict, drifted columns, and a bounded history (newest first)."""
    drifted = sorted(name for name, f in report["features"].items() if f.get("drifted"))
    entry = {
        "time": ran_at,
        "datasetDrift": bool(report["dataset_drift"]),
        "driftShare": round(float(report["drift_share"]), 4),
        "driftedColumns": drifted,
        "rows": current_rows(report),
    }
    history = [entry, *(old.get("history") or [])][:HISTORY]
    message = f"{len(drifted)} of {len(report['features'])} columns drifted"
    if drifted:
        message += ": " + ", ".join(drifted)
    conditions = [
        condition("DriftDetected", bool(report["dataset_drift"]), "Checked", message, generation),
        condition("LastCheckSucceeded", True, "Checked", f"checked {entry['rows']} rows", generation),
    ]
    return {
        "lastRun": ran_at,
        "datasetDrift": entry["datasetDrift"],
        "driftShare": entry["driftShare"],
        "driftedColumns": drifted,
        "history": history,
        "conditions": merge_conditions(old.get("conditions"), conditions),
    }


def failed_check_status(
    old: dict[str, Any], reason: str, message: str, ran_at: str, generation: int
) -> dict[str, Any]:
    conditions = [condition("LastCheckSucceeded", False, reason, message, generation)]
    return {"lastRun": ran_at, "conditions": merge_conditions(old.get("conditions"), conditions)}
