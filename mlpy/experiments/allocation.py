"""Allocation strategies: the traffic share of each variant, recomputed from the shared statistics.

Pure and deterministic for a given seed, so the operator and every router replica compute the same
weights from the same numbers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import numpy as np

from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.metrics import MetricSpec
from mlpy.experiments.posterior import (
    POSTERIOR_DRAWS,
    chance_best,
    posterior_samples,
    top_two_shares,
)
from mlpy.experiments.stats import VariantStats

DEFAULT_FLOOR = 0.01
#: thompson-sampling keeps this much of the traffic off its leader by default, split over the others (a
#: floor of 0.1 with two variants). At 1% the runner-up is measured so slowly that a rule which keeps
#: false winners rare takes 3.4x the units of a 50/50 split to conclude; at 10%, 1.02x, with 80% of the
#: traffic still on the better of two variants (bench/experiments_bandit.py).
THOMPSON_EXPLORATION = 0.1
DEFAULT_MIN_SAMPLES = 100
DEFAULT_EPSILON = 0.1


class Strategy(enum.StrEnum):
    random = "random"
    weighted = "weighted"
    epsilon_greedy = "epsilon-greedy"
    thompson_sampling = "thompson-sampling"
    top_two_thompson = "top-two-thompson"
    # A stepped rollout of one candidate (mlpy.experiments.canary): the operator sets each step's weights.
    canary = "canary"

    @property
    def adaptive(self) -> bool:
        """Whether weights follow the data (then the sample-ratio check uses recorded probabilities)."""
        return self is not Strategy.random and self is not Strategy.weighted

    @property
    def bayesian_stopping(self) -> bool:
        """Whether the experiment ends by the bandit rule (chance to be best and expected loss) rather
        than the always-valid test against the control, which a starved control seldom passes."""
        return self in (Strategy.thompson_sampling, Strategy.top_two_thompson)

    def default_floor(self, variants: int) -> float:
        """The weight floor when none is given: THOMPSON_EXPLORATION over the others for
        thompson-sampling, DEFAULT_FLOOR for the rest (top-two explores by itself)."""
        if self is Strategy.thompson_sampling and variants >= 2:
            return THOMPSON_EXPLORATION / (variants - 1)
        return DEFAULT_FLOOR

    @classmethod
    def parse(cls, value: str) -> Strategy:
        try:
            return cls(value)
        except ValueError as exc:
            choices = ", ".join(s.value for s in cls)
            raise InvalidExperimentError(
                f"unknown strategy {value!r}", hint=f"use one of: {choices}"
            ) from exc


def normalise(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights as probabilities summing to one; rejects negative or all-zero weights."""
    if not weights:
        raise InvalidExperimentError("an experiment needs at least one variant", hint="add variants")
    for name, weight in weights.items():
        if not np.isfinite(weight) or weight < 0:
            raise InvalidExperimentError(
                f"variant {name!r} has weight {weight}", hint="weights are finite and >= 0"
            )
    total = float(sum(weights.values()))
    if total <= 0:
        raise InvalidExperimentError(
            "all variant weights are zero", hint="give at least one variant weight > 0"
        )
    return {name: float(weight) / total for name, weight in weights.items()}


def apply_floor(weights: Mapping[str, float], floor: float) -> dict[str, float]:
    """``p_i = f + (1 - k·f)·w_i``: no variant starves, so the data keeps correcting the bandit."""
    k = len(weights)
    if not 0 <= floor * k <= 1:
        raise InvalidExperimentError(
            f"weight floor {floor} is impossible with {k} variants", hint=f"use a floor <= {1 / k:.4f}"
        )
    probabilities = normalise(weights)
    return {name: floor + (1 - k * floor) * w for name, w in probabilities.items()}


def probability_best(
    stats: Mapping[str, VariantStats],
    metric: MetricSpec,
    rng: np.random.Generator,
    draws: int = POSTERIOR_DRAWS,
) -> dict[str, float]:
    """Posterior probability that each variant is the best (Beta for proportions, Gaussian for means)."""
    samples = posterior_samples(list(stats.values()), metric, rng, draws)
    return dict(zip(stats, (float(p) for p in chance_best(samples, metric.sign)), strict=True))


def next_weights(
    strategy: Strategy | str,
    stats: Mapping[str, VariantStats],
    metric: MetricSpec,
    *,
    base_weights: Mapping[str, float] | None = None,
    epsilon: float = DEFAULT_EPSILON,
    floor: float | None = None,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    seed: int | None = None,
) -> dict[str, float]:
    """The traffic share of each variant for the next period.

    ``random`` splits evenly and ``weighted`` keeps ``base_weights``; the bandits keep ``base_weights``
    until every variant has ``min_samples`` metric values, then move traffic towards the best one,
    never below ``floor`` per variant (None: the strategy's default floor): ``thompson-sampling`` by
    the chance each is best, ``top-two-thompson`` by the share the top-two rule gives it (best-arm
    identification).
    """
    strategy = Strategy.parse(strategy) if isinstance(strategy, str) else strategy
    names = list(base_weights) if base_weights else list(stats)
    base = normalise(dict(base_weights) if base_weights else dict.fromkeys(names, 1.0))
    if strategy is Strategy.random:
        return normalise(dict.fromkeys(names, 1.0))
    if strategy in (Strategy.weighted, Strategy.canary):
        return base
    if not 0 <= epsilon <= 1:
        raise InvalidExperimentError(f"epsilon {epsilon} is outside [0, 1]", hint="use e.g. --epsilon 0.1")
    current = {name: stats.get(name, VariantStats()) for name in names}
    if len(names) < 2 or any(s.n < max(min_samples, 2) for s in current.values()):
        return base
    if floor is None:
        floor = strategy.default_floor(len(names))
    if strategy is Strategy.epsilon_greedy:
        best = max(names, key=lambda name: metric.sign * current[name].mean)
        share = epsilon / len(names)
        greedy = {name: share + (1 - epsilon if name == best else 0.0) for name in names}
        return apply_floor(greedy, floor)
    rng = np.random.default_rng(seed)
    if strategy is Strategy.top_two_thompson:
        samples = posterior_samples(list(current.values()), metric, rng)
        shares = top_two_shares(samples, metric.sign)
        return apply_floor(dict(zip(names, (float(x) for x in shares), strict=True)), floor)
    return apply_floor(probability_best(current, metric, rng), floor)
