"""The prediction log: sampled inputs and outputs of served models, and their observed outcomes.

The model server writes it through :class:`PredictionLogger` (bounded, batched, never blocking a
request); drift checks and feedback analysis read a window of it back with :func:`read_window`.
"""

from mlpy.predlog.errors import InvalidWindowError, PredictionLogError
from mlpy.predlog.reader import META_COLUMNS, export_window, read_inputs, read_window
from mlpy.predlog.writer import LoggedPrediction, PredictionLogger

__all__ = [
    "META_COLUMNS",
    "InvalidWindowError",
    "LoggedPrediction",
    "PredictionLogError",
    "PredictionLogger",
    "export_window",
    "read_inputs",
    "read_window",
]
