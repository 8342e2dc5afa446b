"""kopf handlers: parse the resource, call the reconciler, report status; nothing else lives here."""

from mlpy_operator.handlers import experiment, modelversion, startup

__all__ = ["experiment", "modelversion", "startup"]
