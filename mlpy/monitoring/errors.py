"""Errors raised by mlpy.monitoring; each says what to change."""

from __future__ import annotations

from mlpy.errors import MlpyError


class MonitoringError(MlpyError):
    """Base of every monitoring failure."""


class InvalidEventError(MonitoringError):
    """A request or outcome event that cannot be recorded (bad name, negative latency, NaN)."""


class InvalidRuleError(MonitoringError):
    """An alert rule that names an unknown metric, operator or severity."""


class ExportError(MonitoringError):
    """Metrics could not be pushed to the Prometheus Pushgateway."""
