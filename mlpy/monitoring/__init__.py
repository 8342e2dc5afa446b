"""Live model performance: request events and business KPIs in, per-minute buckets stored, reports,
alerts and metrics out.

The model server feeds :class:`MonitoringRecorder`; ``mlpy monitor report``, the Prometheus collector
and the operator read the buckets back over hourly, daily or weekly windows. :func:`fairness_report`
reads the prediction log's labelled predictions that carry group attributes.

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.monitoring.alerts import DEFAULT_RULES, AlertLog, AlertRule, Severity, load_rules
    from mlpy.monitoring.anomaly import Method
    from mlpy.monitoring.errors import InvalidRuleError, MonitoringError
    from mlpy.monitoring.fairness import (
        FairnessReport,
        fairness_by_variant,
        fairness_report,
        group_fairness,
    )
    from mlpy.monitoring.ingest import MonitoringRecorder
    from mlpy.monitoring.prometheus import MonitoringCollector, exposition, push
    from mlpy.monitoring.report import Report, build_report
    from mlpy.monitoring.windows import Window

__all__ = [
    "DEFAULT_RULES",
    "AlertLog",
    "AlertRule",
    "FairnessReport",
    "InvalidRuleError",
    "Method",
    "MonitoringCollector",
    "MonitoringError",
    "MonitoringRecorder",
    "Report",
    "Severity",
    "Window",
    "build_report",
    "exposition",
    "fairness_by_variant",
    "fairness_report",
    "group_fairness",
    "load_rules",
    "push",
]

_HOMES = {
    "AlertLog": "mlpy.monitoring.alerts",
    "AlertRule": "mlpy.monitoring.alerts",
    "DEFAULT_RULES": "mlpy.monitoring.alerts",
    "FairnessReport": "mlpy.monitoring.fairness",
    "InvalidRuleError": "mlpy.monitoring.errors",
    "Method": "mlpy.monitoring.anomaly",
    "MonitoringCollector": "mlpy.monitoring.prometheus",
    "MonitoringError": "mlpy.monitoring.errors",
    "MonitoringRecorder": "mlpy.monitoring.ingest",
    "Report": "mlpy.monitoring.report",
    "Severity": "mlpy.monitoring.alerts",
    "Window": "mlpy.monitoring.windows",
    "build_report": "mlpy.monitoring.report",
    "exposition": "mlpy.monitoring.prometheus",
    "fairness_by_variant": "mlpy.monitoring.fairness",
    "fairness_report": "mlpy.monitoring.fairness",
    "group_fairness": "mlpy.monitoring.fairness",
    "load_rules": "mlpy.monitoring.alerts",
    "push": "mlpy.monitoring.prometheus",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)
