"""Online experiments: who serves each request, what the numbers say, and when to stop.

The router calls :class:`Experiment` (``assign``/``record``/``current_weights``); the operator calls the
pure functions :func:`analyse` and :func:`next_weights` on the shared per-variant statistics.
"""

from mlpy.experiments.allocation import Strategy, next_weights
from mlpy.experiments.analysis import Analysis, Decision, StoppingRule, analyse
from mlpy.experiments.errors import ExperimentError
from mlpy.experiments.metrics import Goal, MetricSpec, MetricType
from mlpy.experiments.runtime import Experiment, Variant
from mlpy.experiments.stats import VariantStats
from mlpy.experiments.status import Evaluation, evaluate

__all__ = [
    "Analysis",
    "Decision",
    "Evaluation",
    "Experiment",
    "ExperimentError",
    "Goal",
    "MetricSpec",
    "MetricType",
    "StoppingRule",
    "Strategy",
    "Variant",
    "VariantStats",
    "analyse",
    "evaluate",
    "next_weights",
]
