"""DriftMonitor handlers: keep the CronJob and its identity in place; the job writes the verdict."""

from __future__ import annotations

from typing import Any

import kopf

from mlpy_operator.constants import GROUP, VERSION
from mlpy_operator.handlers.errors import handled, reconciling
from mlpy_operator.handlers.triggers import on_spec
from mlpy_operator.reconcile import driftmonitor as rec
from mlpy_operator.runtime import config, kube_client

PLURAL = "driftmonitors"


def _reconcile(body: dict[str, Any]) -> dict[str, Any]:
    settings = config()
    with reconciling("DriftMonitor"):
        return rec.reconcile_drift_monitor(
            kube_client(),
            body,
            defaults=settings.pods("driftJob"),
            service_account=settings.drift_job_service_account,
        )


@on_spec(PLURAL)
def drift_monitor_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    handled(kube_client(), dict(body), patch, _reconcile, also=("Scheduled",))


@kopf.timer(GROUP, VERSION, PLURAL, interval=60, initial_delay=60, idle=10)
def drift_monitor_resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    """Recreates a CronJob (or its ServiceAccount, Role, RoleBinding) deleted by hand."""
    handled(kube_client(), dict(body), patch, _reconcile, also=("Scheduled",), timer=True)
