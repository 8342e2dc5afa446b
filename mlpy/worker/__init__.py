"""Background work for a docker-compose deployment: a Redis job queue that trains and registers models,
and a monitor that runs drift checks and performance reports on a schedule and exposes their metrics.
"""

from mlpy.worker.drift_window import DriftSettings, check_window
from mlpy.worker.errors import WorkerError

__all__ = ["DriftSettings", "WorkerError", "check_window"]
