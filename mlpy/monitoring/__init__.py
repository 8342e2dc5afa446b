"""Live model performance: request events in, per-minute buckets stored, reports, alerts and metrics out.

The model server feeds :class:`MonitoringRecorder`; ``mlpy monitor report``, the Prometheus collector
and the operator read the buckets back over hourly, daily or weekly windows.
"""

from mlpy.monitoring.alerts import AlertRule, Severity
from mlpy.monitoring.errors import MonitoringError
from mlpy.monitoring.ingest import MonitoringRecorder
from mlpy.monitoring.report import Report, build_report
from mlpy.monitoring.windows import Window

__all__ = [
    "AlertRule",
    "MonitoringError",
    "MonitoringRecorder",
    "Report",
    "Severity",
    "Window",
    "build_report",
]
