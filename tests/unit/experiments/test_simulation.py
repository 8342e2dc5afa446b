"""The statistical guarantees, checked by simulation through the real allocation and decision code."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as sps

from mlpy.experiments import Decision, Experiment, MetricSpec, StoppingRule, Variant, analyse
from mlpy.experiments.allocation import Strategy
from mlpy.experiments.metrics import Goal, MetricType
from mlpy.experiments.simulation import SIMULATED_START, SimulationConfig, aa_false_positive_rate, simulate

REPEATS = 200
ALPHA = 0.05
AA = SimulationConfig(
    truths={"A": 1.0, "B": 1.0},
    strategy=Strategy.random,
    steps=25,
    units_per_step=100,
    seed=11,
    stopping=StoppingRule(min_samples_per_variant=100, confidence=1 - ALPHA),
)


def _binomial_ceiling(repeats: int, rate: float) -> float:
    """The rate a correct test stays under with 99.9% probability (tolerance for finite repeats)."""
    return float(sps.binom.ppf(0.999, repeats, rate)) / repeats


def test_sequential_aa_checked_at_every_step_keeps_false_positives_at_alpha() -> None:
    result = aa_false_positive_rate(AA, REPEATS)
    assert result.rate <= _binomial_ceiling(REPEATS, ALPHA)


def test_naive_fixed_horizon_test_checked_at_every_step_does_exceed_alpha() -> None:
    """The same procedure with a fixed-horizon test: proves the A/A check above can fail."""
    result = aa_false_positive_rate(replace(AA, sequential=False), REPEATS)
    assert result.rate > _binomial_ceiling(REPEATS, ALPHA)


@pytest.mark.slow
def test_sequential_aa_holds_for_thompson_sampling_on_proportions() -> None:
    config = replace(
        AA,
        truths={"A": 0.2, "B": 0.2, "C": 0.2},
        strategy=Strategy.thompson_sampling,
        metric=MetricSpec("conversion", Goal.maximize, MetricType.proportion),
    )
    assert aa_false_positive_rate(config, REPEATS).rate <= _binomial_ceiling(REPEATS, ALPHA)


def test_thompson_sends_most_traffic_to_the_better_arm_and_the_decision_finds_it() -> None:
    config = SimulationConfig(
        truths={"A": 1.0, "B": 0.8},  # B has the lower squared error
        strategy=Strategy.thompson_sampling,
        metric=MetricSpec("squared_error", Goal.minimize, MetricType.mean),
        noise=1.0,
        steps=40,
        units_per_step=200,
        seed=5,
    )
    result = simulate(config)
    assert result.traffic["B"] > 0.7 * sum(result.traffic.values())
    assert result.analysis.decision is Decision.ship
    assert result.analysis.winner == "B"
    assert result.analysis.srm is not None
    assert not result.analysis.srm.mismatch


def test_srm_flagged_when_assignment_is_skewed() -> None:
    """A logging bug drops 10% of B's units: the chi-square check catches it; analysis refuses to decide."""
    rng = np.random.default_rng(3)
    experiment = Experiment("exp", [Variant("A", 50), Variant("B", 50)], refresh_interval_s=1e9)
    for _ in range(20):
        counts = experiment.assign_batch(1_000, rng)
        for name, count in counts.items():
            experiment.record_batch(name, rng.normal(1.0, 1.0, count))
    stats = experiment.stats()
    healthy = analyse(stats, MetricSpec(), StoppingRule(), SIMULATED_START, SIMULATED_START).srm
    assert healthy is not None
    assert not healthy.mismatch
    b = stats["B"]
    stats["B"] = replace(b, assigned=int(b.assigned * 0.9))
    skewed = analyse(stats, MetricSpec(), StoppingRule(), SIMULATED_START, SIMULATED_START)
    assert skewed.srm is not None
    assert skewed.srm.mismatch
    assert skewed.decision is Decision.inconclusive


def test_srm_not_flagged_on_a_legitimate_90_10_split() -> None:
    config = replace(
        AA, strategy=Strategy.weighted, weights={"A": 90, "B": 10}, steps=20, units_per_step=1_000
    )
    result = simulate(config)
    assert result.traffic["A"] > 8 * result.traffic["B"]
    assert result.analysis.srm is not None
    assert not result.analysis.srm.mismatch
