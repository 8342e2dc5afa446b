from __future__ import annotations

import pytest

from mlpy.experiments.allocation import Strategy, apply_floor, next_weights
from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.metrics import Goal, MetricSpec, MetricType
from mlpy.experiments.stats import VariantStats

MEAN = MetricSpec("score", Goal.maximize, MetricType.mean)


def _stats(mean: float, n: int = 500, sd: float = 1.0) -> VariantStats:
    # n values with the given mean and (population) standard deviation
    return VariantStats(n=n, total=mean * n, total_sq=n * (sd * sd + mean * mean))


def test_floor_keeps_every_variant_alive() -> None:
    weights = apply_floor({"A": 1.0, "B": 0.0, "C": 0.0}, 0.01)
    assert weights == pytest.approx({"A": 0.98, "B": 0.01, "C": 0.01})
    assert sum(weights.values()) == pytest.approx(1.0)
    with pytest.raises(InvalidExperimentError, match="impossible"):
        apply_floor({"A": 1.0, "B": 1.0}, 0.6)


def test_fixed_strategies() -> None:
    stats = {"A": _stats(1.0), "B": _stats(2.0)}
    assert next_weights("random", stats, MEAN, base_weights={"A": 90, "B": 10}) == {"A": 0.5, "B": 0.5}
    assert next_weights("weighted", stats, MEAN, base_weights={"A": 90, "B": 10}) == pytest.approx(
        {"A": 0.9, "B": 0.1}
    )


@pytest.mark.parametrize("strategy", [Strategy.epsilon_greedy, Strategy.thompson_sampling])
def test_bandits_wait_for_the_minimum_count(strategy: Strategy) -> None:
    stats = {"A": _stats(1.0, n=99), "B": _stats(5.0, n=1000)}
    assert next_weights(strategy, stats, MEAN, base_weights={"A": 50, "B": 50}, min_samples=100) == {
        "A": 0.5,
        "B": 0.5,
    }


def test_epsilon_greedy_exploits_the_best_within_the_floor() -> None:
    stats = {"A": _stats(1.0), "B": _stats(2.0)}
    weights = next_weights(Strategy.epsilon_greedy, stats, MEAN, epsilon=0.2, floor=0.01)
    # greedy split 0.9 / 0.1, then the floor: p = 0.01 + 0.98 w
    assert weights == pytest.approx({"A": 0.01 + 0.98 * 0.1, "B": 0.01 + 0.98 * 0.9})
    minimise = MetricSpec("squared_error", Goal.minimize, MetricType.mean)
    assert next_weights(Strategy.epsilon_greedy, stats, minimise, epsilon=0.2)["A"] > 0.5


def test_thompson_is_deterministic_per_seed_and_favours_the_better_arm() -> None:
    stats = {"A": _stats(1.0), "B": _stats(1.2)}
    first = next_weights(Strategy.thompson_sampling, stats, MEAN, seed=7)
    assert first == next_weights(Strategy.thompson_sampling, stats, MEAN, seed=7)
    # By default 10% stays off the leader, so the runner-up is measured well enough to conclude.
    assert first["B"] > 0.89
    assert min(first.values()) >= 0.1
    starving = next_weights(Strategy.thompson_sampling, stats, MEAN, seed=7, floor=0.01)
    assert starving["B"] > 0.95
    assert min(starving.values()) >= 0.01


def test_thompson_with_beta_posteriors_for_proportions() -> None:
    rate = MetricSpec("conversion", Goal.maximize, MetricType.proportion)
    stats = {
        "A": VariantStats(n=1000, total=100, total_sq=100),
        "B": VariantStats(n=1000, total=102, total_sq=102),
    }
    weights = next_weights(Strategy.thompson_sampling, stats, rate, seed=1)
    assert 0.3 < weights["A"] < 0.7  # nearly equal rates: no strong preference


def test_unknown_strategy_and_bad_weights() -> None:
    with pytest.raises(InvalidExperimentError, match="unknown strategy 'greedy'"):
        next_weights("greedy", {}, MEAN, base_weights={"A": 1, "B": 1})
    with pytest.raises(InvalidExperimentError, match="weight -1"):
        next_weights("weighted", {}, MEAN, base_weights={"A": -1, "B": 1})
