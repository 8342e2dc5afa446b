"""One call for a control loop (the operator's, the demo's): from a spec and the router's statistics to
the weights the strategy gives next and the analysis. How a caller shows it is the caller's."""

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
        """Plain JSON: the weights and the analysis (per-variant statistics, p-value, lift, decision)."""
        return {"weights": self.weights, **self.analysis.to_dict()}


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
    analysis = analyse(
        ordered,
        config.metric,
        config.stopping,
        started_at,
        now,
        control=config.control,
        strategy=config.strategy,
        seed=seed,
    )
    return Evaluation(weights, analysis)
