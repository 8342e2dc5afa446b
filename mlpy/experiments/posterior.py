"""Posterior draws of each variant's true metric, and what the bandits read from them.

One sampler for the allocation (the chance each variant is best, the top-two shares) and for the bandit
stopping rule (the expected loss of shipping the leader), so both look at the same posterior: Beta(1 + s,
1 + n - s) for proportions, N(mean, s²/n) for means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.metrics import MetricSpec, MetricType
from mlpy.experiments.stats import VariantStats

POSTERIOR_DRAWS = 4000
#: Russo's (2016) default: half of the traffic to the Thompson draw's best arm, half to its challenger.
DEFAULT_TOP_TWO_BETA = 0.5


def posterior_samples(
    stats: Sequence[VariantStats], metric: MetricSpec, rng: np.random.Generator, draws: int = POSTERIOR_DRAWS
) -> np.ndarray:
    """``draws`` x variants posterior samples of the true metric, in the metric's own units."""
    samples = np.empty((draws, len(stats)))
    for column, s in enumerate(stats):
        if metric.type is MetricType.proportion:
            successes = min(max(s.total, 0.0), float(s.n))
            samples[:, column] = rng.beta(1.0 + successes, 1.0 + s.n - successes, size=draws)
        else:
            spread = np.sqrt(s.variance / s.n) if s.n >= 2 and np.isfinite(s.variance) else 1e6
            centre = s.mean if s.n else 0.0
            samples[:, column] = rng.normal(centre, max(spread, 1e-12), size=draws)
    return samples


def chance_best(samples: np.ndarray, sign: float) -> np.ndarray:
    """Share of the draws in which each variant is the best (``sign`` -1 when lower is better)."""
    winners = np.argmax(samples * sign, axis=1)
    return np.asarray(np.bincount(winners, minlength=samples.shape[1]) / samples.shape[0])


def expected_loss(samples: np.ndarray, sign: float) -> np.ndarray:
    """E[max_k θ_k - θ_j] for each variant j, in the goal's direction: what shipping j gives up, on
    average over the posterior, against the best variant (zero when j is surely the best)."""
    better = samples * sign
    return np.asarray(np.mean(better.max(axis=1, keepdims=True) - better, axis=0))


def top_two_shares(samples: np.ndarray, sign: float, beta: float = DEFAULT_TOP_TWO_BETA) -> np.ndarray:
    """The traffic share of each variant under top-two Thompson sampling (Russo 2016).

    Per unit: take a posterior draw's best variant I; with probability ``beta`` play I, otherwise draw
    again until another variant J is best and play J. Its share is the expectation over the draws:
    ``beta·π_i + (1 - beta)·Σ_{j≠i} π_j·π_i / (1 - π_j)``, π the chance to be best. Plain Thompson
    sampling sends almost nothing to the runner-up once a leader emerges; this keeps measuring it, which
    is what separating the best from the second best needs.
    """
    if not 0 < beta < 1:
        raise InvalidExperimentError(f"top-two beta {beta} is outside (0, 1)", hint="use 0.5")
    if samples.shape[1] < 2:
        raise InvalidExperimentError("top-two sampling needs two or more variants", hint="add a variant")
    best = chance_best(samples, sign)
    k = len(best)
    challengers = np.empty((k, k))  # row j: the distribution of the challenger when j leads
    for j in range(k):
        others = best.copy()
        others[j] = 0.0
        if others.sum() <= 0:
            # No draw had another best: the runner-up of each draw stands in for the challenger.
            runner_up = np.argsort(samples * sign, axis=1)[:, -2]
            others = np.bincount(runner_up, minlength=k).astype(float)
        challengers[j] = others / others.sum()
    shares = beta * best + (1 - beta) * (best @ challengers)
    return np.asarray(shares / shares.sum())
