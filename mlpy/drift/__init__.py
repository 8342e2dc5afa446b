"""Data drift: compare a current window with a reference, column by column, numeric and categorical.

Build a :class:`DriftProfile` from the reference once, store it, then :func:`check` each window
against it; the :class:`DriftReport` renders as JSON, text or a self-contained HTML page.

The names load on first use, so importing ``mlpy.drift.errors`` (as the command line does at start-up)
does not pay for pyarrow and scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlpy.drift.checking import check
    from mlpy.drift.errors import DriftError
    from mlpy.drift.methods import Method
    from mlpy.drift.profile import DriftProfile
    from mlpy.drift.report import DriftReport, FeatureDrift

__all__ = ["DriftError", "DriftProfile", "DriftReport", "FeatureDrift", "Method", "check"]

_HOMES = {
    "check": "mlpy.drift.checking",
    "DriftError": "mlpy.drift.errors",
    "Method": "mlpy.drift.methods",
    "DriftProfile": "mlpy.drift.profile",
    "DriftReport": "mlpy.drift.report",
    "FeatureDrift": "mlpy.drift.report",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'mlpy.drift' has no attribute {name!r}")
