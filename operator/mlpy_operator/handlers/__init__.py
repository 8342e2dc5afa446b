"""kopf handlers: parse the resource, call the reconciler, report status; nothing else lives here."""

from mlpy_operator.handlers import driftmonitor, experiment, modelversion, startup

__all__ = ["driftmonitor", "experiment", "modelversion", "startup"]
