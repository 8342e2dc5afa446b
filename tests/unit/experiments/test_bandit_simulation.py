"""What the bandit rule promises, checked by simulation through the real allocation and analysis code.

bench/experiments_bandit.py measures the same at full size: 200 runs (500 of two equal variants), each
checked after every 200 units for up to 80,000, and checks the issue's bounds. To stay fast, these runs
are checked after every 1,000 units (every 2,000 for equal variants) over the same 80,000-unit horizon;
the claims are the same. The runs are seeded (1, 2, ...), so every rate here is a fixed figure of the
code, not a draw: two equal variants ship a winner in 23 of the 500 runs (4.6%) against the issue's 5%,
a rule without the loss condition in far more.
"""

from __future__ import annotations

from typing import Any

import pytest
from scipy import stats as sps

from mlpy.experiments import (
    Goal,
    MetricSpec,
    MetricType,
    RepeatedResult,
    SimulationConfig,
    StoppingRule,
    Strategy,
    repeat_simulation,
)

CONVERSION = MetricSpec("conversion", Goal.maximize, MetricType.proportion)
HORIZON = 80_000
TWO = {"A": 0.10, "B": 0.13}
EQUAL = {"A": 0.10, "B": 0.10}
FOUR = {"A": 0.10, "B": 0.10, "C": 0.11, "D": 0.13}
EQUAL_RUNS = 500


def _ceiling(runs: int, rate: float) -> float:
    return float(sps.binom.ppf(0.999, runs, rate)) / runs


def _run(
    truths: dict[str, float], strategy: Strategy, runs: int, *, batch: int = 1_000, **stopping: Any
) -> RepeatedResult:
    config = SimulationConfig(
        truths=truths,
        strategy=strategy,
        metric=CONVERSION,
        steps=HORIZON // batch,
        units_per_step=batch,
        stopping=StoppingRule(**stopping),
    )
    result = repeat_simulation(config, runs)
    print(strategy, truths, result.to_dict())
    return result


def test_thompson_concludes_about_as_fast_as_a_50_50_split_with_most_traffic_on_the_better_arm() -> None:
    fixed = _run(TWO, Strategy.weighted, 200)
    bandit = _run(TWO, Strategy.thompson_sampling, 200)
    assert bandit.decided_rate == 1.0
    assert bandit.median_units <= 2 * fixed.median_units
    assert bandit.mean_best_share >= 0.7
    assert bandit.wrong_rate <= 0.05
    assert fixed.mean_best_share < 0.55  # the split it is compared with does share the traffic evenly


@pytest.mark.slow
def test_two_equal_variants_rarely_ship_a_winner_within_the_horizon() -> None:
    """The issue's bound exactly: a winner shipped in at most 5% of 500 runs (about a minute).

    Checked after every 2,000 units, ten times fewer peeks than the bench's, each a chance to ship by
    luck; the bench's 200-unit checks give 4.0% of the same 500 seeds.
    """
    result = _run(EQUAL, Strategy.thompson_sampling, EQUAL_RUNS, batch=2_000)
    assert result.runs == 500
    assert result.ship_rate <= 0.05


def test_without_the_expected_loss_condition_equal_variants_do_ship() -> None:
    """The check above can fail: the chance to be best alone, checked after every batch, soon reaches
    95% for one of two equal variants."""
    result = _run(EQUAL, Strategy.thompson_sampling, 60, batch=2_000, max_expected_loss=0.5)
    assert result.ship_rate > _ceiling(60, 0.05)  # more than a correct rule would ship even by bad luck


def test_top_two_finds_the_best_of_four_in_fewer_units_than_an_equal_split() -> None:
    equal = _run(FOUR, Strategy.random, 100)
    top_two = _run(FOUR, Strategy.top_two_thompson, 100)
    assert top_two.median_units < equal.median_units
    assert top_two.wrong_rate <= 0.05
    assert top_two.mean_best_share > equal.mean_best_share
