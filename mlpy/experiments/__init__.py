"""Online experiments: who serves each request, what the numbers say, and when to stop.

The router calls :class:`Experiment` (``assign``/``record``/``current_weights``); the operator calls the
pure functions :func:`analyse` and :func:`next_weights` on the shared per-variant statistics.

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.corrections import Correction
    from mlpy.experiments.allocation import (
        DEFAULT_EPSILON,
        DEFAULT_FLOOR,
        THOMPSON_EXPLORATION,
        Strategy,
        next_weights,
        normalise,
    )
    from mlpy.experiments.analysis import Analysis, Decision, StoppingRule, analyse
    from mlpy.experiments.backends import StatsBackend, open_backend
    from mlpy.experiments.bandit_stopping import DEFAULT_MAX_EXPECTED_LOSS, BanditCheck, bandit_check
    from mlpy.experiments.canary import CanaryMove, CanaryProgress, CanarySteps, advance
    from mlpy.experiments.definition import ExperimentConfig, parse_duration
    from mlpy.experiments.errors import ExperimentError, InvalidExperimentError
    from mlpy.experiments.guardrails import (
        FAIRNESS_GAPS,
        Breach,
        Guardrails,
        GuardrailWatch,
        GuardrailWindows,
        VariantFairness,
        without,
    )
    from mlpy.experiments.metrics import Goal, MetricSource, MetricSpec, MetricType
    from mlpy.experiments.mirror import (
        MirrorCounts,
        MirrorReport,
        MirrorSpec,
        compare_predictions,
        predictions_of,
    )
    from mlpy.experiments.power import sample_size
    from mlpy.experiments.repeated import RepeatedResult, repeat_simulation
    from mlpy.experiments.repository import ExperimentRepository
    from mlpy.experiments.runtime import Experiment, Variant, definition_basis
    from mlpy.experiments.signing import new_signing_key
    from mlpy.experiments.simulation import SimulationConfig, aa_false_positive_rate, simulate
    from mlpy.experiments.stats import PublishedWeights, VariantStats
    from mlpy.experiments.status import Evaluation, evaluate

__all__ = [
    "DEFAULT_EPSILON",
    "DEFAULT_FLOOR",
    "DEFAULT_MAX_EXPECTED_LOSS",
    "FAIRNESS_GAPS",
    "THOMPSON_EXPLORATION",
    "Analysis",
    "BanditCheck",
    "Breach",
    "CanaryMove",
    "CanaryProgress",
    "CanarySteps",
    "Correction",
    "Decision",
    "Evaluation",
    "Experiment",
    "ExperimentConfig",
    "ExperimentError",
    "ExperimentRepository",
    "Goal",
    "GuardrailWatch",
    "GuardrailWindows",
    "Guardrails",
    "InvalidExperimentError",
    "MetricSource",
    "MetricSpec",
    "MetricType",
    "MirrorCounts",
    "MirrorReport",
    "MirrorSpec",
    "PublishedWeights",
    "RepeatedResult",
    "SimulationConfig",
    "StatsBackend",
    "StoppingRule",
    "Strategy",
    "Variant",
    "VariantFairness",
    "VariantStats",
    "aa_false_positive_rate",
    "advance",
    "analyse",
    "bandit_check",
    "compare_predictions",
    "definition_basis",
    "evaluate",
    "new_signing_key",
    "next_weights",
    "normalise",
    "open_backend",
    "parse_duration",
    "predictions_of",
    "repeat_simulation",
    "sample_size",
    "simulate",
    "without",
]

_HOMES = {
    "Correction": "mlpy.corrections",
    "Analysis": "mlpy.experiments.analysis",
    "Breach": "mlpy.experiments.guardrails",
    "FAIRNESS_GAPS": "mlpy.experiments.guardrails",
    "VariantFairness": "mlpy.experiments.guardrails",
    "CanaryMove": "mlpy.experiments.canary",
    "CanaryProgress": "mlpy.experiments.canary",
    "CanarySteps": "mlpy.experiments.canary",
    "DEFAULT_EPSILON": "mlpy.experiments.allocation",
    "DEFAULT_FLOOR": "mlpy.experiments.allocation",
    "DEFAULT_MAX_EXPECTED_LOSS": "mlpy.experiments.bandit_stopping",
    "BanditCheck": "mlpy.experiments.bandit_stopping",
    "Decision": "mlpy.experiments.analysis",
    "Evaluation": "mlpy.experiments.status",
    "Experiment": "mlpy.experiments.runtime",
    "ExperimentConfig": "mlpy.experiments.definition",
    "ExperimentError": "mlpy.experiments.errors",
    "ExperimentRepository": "mlpy.experiments.repository",
    "Goal": "mlpy.experiments.metrics",
    "GuardrailWatch": "mlpy.experiments.guardrails",
    "GuardrailWindows": "mlpy.experiments.guardrails",
    "Guardrails": "mlpy.experiments.guardrails",
    "InvalidExperimentError": "mlpy.experiments.errors",
    "MetricSource": "mlpy.experiments.metrics",
    "MetricSpec": "mlpy.experiments.metrics",
    "MetricType": "mlpy.experiments.metrics",
    "RepeatedResult": "mlpy.experiments.repeated",
    "MirrorCounts": "mlpy.experiments.mirror",
    "MirrorReport": "mlpy.experiments.mirror",
    "MirrorSpec": "mlpy.experiments.mirror",
    "PublishedWeights": "mlpy.experiments.stats",
    "SimulationConfig": "mlpy.experiments.simulation",
    "StatsBackend": "mlpy.experiments.backends",
    "StoppingRule": "mlpy.experiments.analysis",
    "Strategy": "mlpy.experiments.allocation",
    "THOMPSON_EXPLORATION": "mlpy.experiments.allocation",
    "Variant": "mlpy.experiments.runtime",
    "VariantStats": "mlpy.experiments.stats",
    "aa_false_positive_rate": "mlpy.experiments.simulation",
    "advance": "mlpy.experiments.canary",
    "analyse": "mlpy.experiments.analysis",
    "bandit_check": "mlpy.experiments.bandit_stopping",
    "compare_predictions": "mlpy.experiments.mirror",
    "definition_basis": "mlpy.experiments.runtime",
    "evaluate": "mlpy.experiments.status",
    "new_signing_key": "mlpy.experiments.signing",
    "next_weights": "mlpy.experiments.allocation",
    "normalise": "mlpy.experiments.allocation",
    "open_backend": "mlpy.experiments.backends",
    "parse_duration": "mlpy.experiments.definition",
    "repeat_simulation": "mlpy.experiments.repeated",
    "predictions_of": "mlpy.experiments.mirror",
    "sample_size": "mlpy.experiments.power",
    "simulate": "mlpy.experiments.simulation",
    "without": "mlpy.experiments.guardrails",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)
