"""Background work for a docker-compose deployment: a Redis job queue that trains and registers models,
and a monitor that runs drift checks and performance reports on a schedule and exposes their metrics.

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.worker.drift_window import DriftSettings, check_window
    from mlpy.worker.errors import InvalidSettingsError, WorkerError
    from mlpy.worker.monitor import Monitor
    from mlpy.worker.queueing import (
        connect,
        job_info,
        open_queue,
        run_worker,
        submit_spec,
        submit_training,
    )
    from mlpy.worker.settings import queue_name, redis_url

__all__ = [
    "DriftSettings",
    "InvalidSettingsError",
    "Monitor",
    "WorkerError",
    "check_window",
    "connect",
    "job_info",
    "open_queue",
    "queue_name",
    "redis_url",
    "run_worker",
    "submit_spec",
    "submit_training",
]

_HOMES = {
    "DriftSettings": "mlpy.worker.drift_window",
    "InvalidSettingsError": "mlpy.worker.errors",
    "Monitor": "mlpy.worker.monitor",
    "WorkerError": "mlpy.worker.errors",
    "check_window": "mlpy.worker.drift_window",
    "connect": "mlpy.worker.queueing",
    "job_info": "mlpy.worker.queueing",
    "open_queue": "mlpy.worker.queueing",
    "queue_name": "mlpy.worker.settings",
    "redis_url": "mlpy.worker.settings",
    "run_worker": "mlpy.worker.queueing",
    "submit_spec": "mlpy.worker.queueing",
    "submit_training": "mlpy.worker.queueing",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)
