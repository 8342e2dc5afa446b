"""Data drift: compare a current window with a reference, column by column, numeric and categorical.

Build a :class:`DriftProfile` from the reference once, store it, then :func:`check` each window
against it; the :class:`DriftReport` renders as JSON, text or a self-contained HTML page.

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.corrections import Correction
    from mlpy.drift.checking import check
    from mlpy.drift.errors import DriftError
    from mlpy.drift.methods import DEFAULT_MIN_EFFECT, DEFAULT_SHAPE_MIN_EFFECT, DEFAULT_THRESHOLDS, Method
    from mlpy.drift.metrics import DriftCollector, exposition, push
    from mlpy.drift.predictions import PREDICTION, with_predictions
    from mlpy.drift.profile import DriftProfile
    from mlpy.drift.records import history, record
    from mlpy.drift.report import DriftReport, FeatureDrift
    from mlpy.drift.sources import ColumnSource, read_table

__all__ = [
    "DEFAULT_MIN_EFFECT",
    "DEFAULT_SHAPE_MIN_EFFECT",
    "DEFAULT_THRESHOLDS",
    "PREDICTION",
    "ColumnSource",
    "Correction",
    "DriftCollector",
    "DriftError",
    "DriftProfile",
    "DriftReport",
    "FeatureDrift",
    "Method",
    "check",
    "exposition",
    "history",
    "push",
    "read_table",
    "record",
    "with_predictions",
]

_HOMES = {
    "Correction": "mlpy.corrections",
    "ColumnSource": "mlpy.drift.sources",
    "DEFAULT_MIN_EFFECT": "mlpy.drift.methods",
    "DEFAULT_SHAPE_MIN_EFFECT": "mlpy.drift.methods",
    "DEFAULT_THRESHOLDS": "mlpy.drift.methods",
    "DriftCollector": "mlpy.drift.metrics",
    "DriftError": "mlpy.drift.errors",
    "DriftProfile": "mlpy.drift.profile",
    "PREDICTION": "mlpy.drift.predictions",
    "DriftReport": "mlpy.drift.report",
    "FeatureDrift": "mlpy.drift.report",
    "Method": "mlpy.drift.methods",
    "check": "mlpy.drift.checking",
    "exposition": "mlpy.drift.metrics",
    "history": "mlpy.drift.records",
    "push": "mlpy.drift.metrics",
    "read_table": "mlpy.drift.sources",
    "record": "mlpy.drift.records",
    "with_predictions": "mlpy.drift.predictions",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)
