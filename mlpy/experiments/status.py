"""One call for the operator's reconcile loop: from the CRD spec and the router's stats to the status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlpy.experiments.allocation import next_weights
from mlpy.experiments.analysis import Analysis, analyse
from mlpy.experiments.definition import ExperimentConfig
from mlpy.experiments.stats import VariantStats


@dataclass(frozen=True, slots=True)
class Evaluation:
    weights: dict[str, float]
    analysis: Analysis

    def to_dict(self) -> dict[str, Any]:
        """The Experiment status: weights, per-variant samples and mean, p-value, lift, decision, winner."""
        analysis = self.analysis
        return {
            "weights": self.weights,
            "variants": {
                name: {"samples": r.stats.n, "assigned": r.stats.assigned, "mean": r.stats.to_dict()["mean"]}
                for name, r in analysis.variants.items()
            },
            "pValue": analysis.p_value,
            "lift": analysis.lift,
            "decision": str(analysis.decision),
            "winner": analysis.winner,
            "reasons": analysis.reasons,
            "srm": None if analysis.srm is None else analysis.srm.to_dict(),
        }


def evaluate(
    spec: ExperimentConfig | Mapping[str, Any],
    stats: Mapping[str, VariantStats | Mapping[str, Any]],
    started_at: datetime,
    now: datetime,
    *,
    seed: int = 0,
) -> Evaluation:
    """Pure: the weights the strategy gives and the analysis, for a spec (or its CRD dict) and the
    per-variant statistics (``VariantStats`` or the dicts the router serves). Variants without stats count
    as empty, so a fresh experiment evaluates to "keep running"."""
    config = spec if isinstance(spec, ExperimentConfig) else ExperimentConfig.from_dict(spec)
    parsed = {
        name: value if isinstance(value, VariantStats) else VariantStats.from_dict(value)
        for name, value in stats.items()
    }
    ordered = {v.name: parsed.get(v.name, VariantStats()) for v in config.variants}
    weights = next_weights(
        config.strategy,
        ordered,
        config.metric,
        base_weights=config.weights,
        epsilon=config.epsilon,
        floor=config.floor,
        min_samples=config.stopping.min_samples_per_variant,
        seed=seed,
    )
    analysis = analyse(ordered, config.metric, config.stopping, started_at, now, control=config.control)
    return Evaluation(weights, analysis)
