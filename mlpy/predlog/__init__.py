"""The prediction log: sampled inputs and outputs of served models, and their observed outcomes.

The model server writes it through :class:`PredictionLogger` (bounded, batched, never blocking a
request); drift checks and feedback analysis read a window of it back with :func:`read_window`, fairness the
instances that carry group attributes and an outcome with :func:`read_labelled_groups`.
"""

from mlpy.predlog.errors import InvalidWindowError, PredictionLogError
from mlpy.predlog.reader import (
    LABELLED_COLUMNS,
    META_COLUMNS,
    export_window,
    read_inputs,
    read_labelled_groups,
    read_window,
)
from mlpy.predlog.writer import LoggedPrediction, PredictionLogger

__all__ = [
    "LABELLED_COLUMNS",
    "META_COLUMNS",
    "InvalidWindowError",
    "LoggedPrediction",
    "PredictionLogError",
    "PredictionLogger",
    "export_window",
    "read_inputs",
    "read_labelled_groups",
    "read_window",
]
