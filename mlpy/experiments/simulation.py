"""Traffic against known truths, run through the real Experiment, allocation and analysis code.

It answers "would this set-up find the better model, and how often would it cry wolf?" before any
user sees a variant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from mlpy.experiments.allocation import DEFAULT_EPSILON, Strategy
from mlpy.experiments.analysis import Analysis, Decision, StoppingRule, analyse
from mlpy.experiments.definition import ExperimentConfig
from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.metrics import MetricSpec, MetricType
from mlpy.experiments.runtime import Experiment, Variant

SIMULATED_START = datetime(2026, 1, 1, tzinfo=UTC)
MAX_UNITS = 50_000_000
# About a minute of A/A checks on a laptop: a typo in --aa-repeats should not hang the terminal.
MAX_ANALYSES = 200_000


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """One simulated experiment; each step sends ``units_per_step`` units, then reweights and analyses."""

    truths: dict[str, float]
    strategy: Strategy = Strategy.thompson_sampling
    metric: MetricSpec = field(default_factory=MetricSpec)
    noise: float = 1.0
    steps: int = 50
    units_per_step: int = 200
    seed: int = 0
    stopping: StoppingRule = field(default_factory=StoppingRule)
    epsilon: float = DEFAULT_EPSILON
    floor: float | None = None  # None: the strategy's default
    sequential: bool = True
    weights: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if len(self.truths) < 2:
            raise InvalidExperimentError(
                "a simulation needs two or more --truth values", hint="--truth A=1 --truth B=1.1"
            )
        if self.steps < 1 or self.units_per_step < 1:
            raise InvalidExperimentError(
                f"steps ({self.steps}) and units per step ({self.units_per_step}) must be positive",
                hint="e.g. --steps 50 --units-per-step 200",
            )
        if self.steps * self.units_per_step > MAX_UNITS:
            raise InvalidExperimentError(
                f"{self.steps * self.units_per_step} simulated units is too many",
                hint=f"stay under {MAX_UNITS}",
            )
        if not math.isfinite(self.noise) or self.noise < 0:
            raise InvalidExperimentError(f"noise {self.noise} must be >= 0", hint="e.g. --noise 1.0")
        for name, truth in self.truths.items():
            if not math.isfinite(truth):
                raise InvalidExperimentError(f"truth for {name!r} is not finite", hint="--truth NAME=NUMBER")
            if self.metric.type is MetricType.proportion and not 0 <= truth <= 1:
                raise InvalidExperimentError(
                    f"truth {name}={truth} is not a proportion", hint="proportions are between 0 and 1"
                )


@dataclass(frozen=True, slots=True)
class SimulationResult:
    traffic: dict[str, int]
    weights: dict[str, float]
    analysis: Analysis
    decided_at_step: int | None
    steps_run: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "traffic": self.traffic,
            "traffic_share": {k: v / max(1, sum(self.traffic.values())) for k, v in self.traffic.items()},
            "weights": self.weights,
            "decision": str(self.analysis.decision),
            "winner": self.analysis.winner,
            "reasons": self.analysis.reasons,
            "decided_at_step": self.decided_at_step,
            "steps_run": self.steps_run,
            "analysis": self.analysis.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class AAResult:
    repeats: int
    false_positives: int
    alpha: float
    sequential: bool

    @property
    def rate(self) -> float:
        return self.false_positives / self.repeats

    def to_dict(self) -> dict[str, Any]:
        return {
            "repeats": self.repeats,
            "false_positives": self.false_positives,
            "false_positive_rate": self.rate,
            "alpha": self.alpha,
            "sequential": self.sequential,
            "checked": "every step",
        }


def _draw(metric: MetricSpec, truth: float, noise: float, size: int, rng: np.random.Generator) -> np.ndarray:
    if metric.type is MetricType.proportion:
        return (rng.random(size) < truth).astype(float)
    return rng.normal(truth, noise, size)


def simulate(config: SimulationConfig, *, stop_on_decision: bool = False) -> SimulationResult:
    """Run every step, analysing after each; the result is the last analysis (or the first decisive one
    when ``stop_on_decision``)."""
    rng = np.random.default_rng(config.seed)
    names = list(config.truths)
    weights = config.weights or dict.fromkeys(names, 1.0)
    definition = ExperimentConfig(
        tuple(Variant(name, weights.get(name, 1.0)) for name in names),
        strategy=config.strategy,
        metric=config.metric,
        stopping=config.stopping,
        epsilon=config.epsilon,
        floor=config.floor,
    )
    experiment = Experiment.from_config(
        "simulation", definition, refresh_interval_s=math.inf, seed=config.seed
    )
    analysis: Analysis | None = None
    decided_at: int | None = None
    step = 0
    for step in range(1, config.steps + 1):
        counts = experiment.assign_batch(config.units_per_step, rng)
        for name, count in counts.items():
            experiment.record_batch(name, _draw(config.metric, config.truths[name], config.noise, count, rng))
        experiment.refresh()
        analysis = analyse(
            experiment.stats(),
            config.metric,
            config.stopping,
            SIMULATED_START,
            SIMULATED_START + timedelta(minutes=step),
            sequential=config.sequential,
            strategy=config.strategy,
            seed=config.seed,  # fixed for the run, as the operator fixes it per generation
        )
        if decided_at is None and analysis.decision in (Decision.ship, Decision.roll_back):
            decided_at = step
            if stop_on_decision:
                break
    assert analysis is not None
    stats = experiment.stats()
    return SimulationResult(
        traffic={name: stats[name].assigned for name in names},
        weights=experiment.current_weights(),
        analysis=analysis,
        decided_at_step=decided_at,
        steps_run=step,
    )


def aa_false_positive_rate(config: SimulationConfig, repeats: int) -> AAResult:
    """Repeat an A/A experiment (every variant has the first truth) and count the repeats in which any
    check, one per step, declared a winner or a loser: the false-positive rate a user who peeks sees."""
    if repeats < 1:
        raise InvalidExperimentError(f"--aa-repeats {repeats} must be positive", hint="e.g. --aa-repeats 200")
    if repeats * config.steps > MAX_ANALYSES:
        raise InvalidExperimentError(
            f"{repeats} A/A repeats x {config.steps} steps is too many analyses",
            hint=f"keep repeats x steps under {MAX_ANALYSES}",
        )
    same = next(iter(config.truths.values()))
    aa = replace(config, truths=dict.fromkeys(config.truths, same))
    false_positives = 0
    for repeat in range(repeats):
        result = simulate(replace(aa, seed=config.seed * 1_000_003 + repeat + 1), stop_on_decision=True)
        false_positives += result.decided_at_step is not None
    return AAResult(repeats, false_positives, config.stopping.alpha, config.sequential)
