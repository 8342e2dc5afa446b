"""Bandits that conclude: Thompson sampling and top-two Thompson, stopped by the bandit rule (chance to be
best and expected loss), against fixed splits stopped by the always-valid test, in mlpy's own simulation.

Anchors: a 50/50 split of two variants and an equal split of four, each decided by the always-valid test
against the control (the rule fixed splits keep). Every run is checked after each batch of 200 units and
stops at its first decision, or at 400 batches (80,000 units) without one.

    python bench/experiments_bandit.py            # 200 runs per row, 500 for two equal variants: minutes
    python bench/experiments_bandit.py --quick    # 8 runs per row, seconds (shorter A/A horizon)
    python bench/experiments_bandit.py --max-expected-loss 0.0002   # another threshold for the bandits

It ends by checking issue 17's five bounds, one PASS or FAIL line each, and exits 1 when one fails.
With --quick the runs are too few for the bounds to mean much: a FAIL there is a hint, not a verdict,
and the exit status stays 0.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from mlpy.experiments import (
    DEFAULT_MAX_EXPECTED_LOSS,
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
TWO = {"A": 0.10, "B": 0.13}
EQUAL = {"A": 0.10, "B": 0.10}
FOUR = {"A": 0.10, "B": 0.10, "C": 0.11, "D": 0.13}
RULE = {True: "bandit rule", False: "always-valid test"}


LOSS = [DEFAULT_MAX_EXPECTED_LOSS]  # --max-expected-loss


def run(
    truths: dict[str, float], strategy: Strategy, runs: int, steps: int, floor: float | None = None
) -> RepeatedResult:
    config = SimulationConfig(
        truths=truths,
        strategy=strategy,
        metric=CONVERSION,
        steps=steps,
        units_per_step=200,
        floor=floor,
        stopping=StoppingRule(max_expected_loss=LOSS[0]),
    )
    return repeat_simulation(config, runs)


def label(strategy: Strategy, note: str = "") -> str:
    return f"{strategy}{note} ({RULE[strategy.bayesian_stopping]})"


def units(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:,.0f}"


def decisions_table(title: str, rows: list[tuple[str, RepeatedResult]]) -> None:
    """Median units to a decision beside the anchor's (the first row), traffic to the best, errors."""
    print(f"\n{title}")
    print(f"{'':<50}{'median units':>13}{'vs anchor':>11}{'best traffic':>14}{'wrong':>8}{'none':>8}")
    anchor = rows[0][1].median_units
    for name, r in rows:
        ratio = r.median_units / anchor
        print(
            f"{name:<50}{units(r.median_units):>13}{ratio:>10.2f}x{r.mean_best_share:>14.1%}"
            f"{r.wrong_rate:>8.1%}{1 - r.decided_rate:>8.1%}"
        )


def bounds(
    two: dict[str, RepeatedResult], equal: RepeatedResult, four: dict[str, RepeatedResult]
) -> list[tuple[bool, str]]:
    """Issue 17's five bounds on these results: whether each holds, and what it says with the figures."""
    weighted, thompson = two["weighted"], two["thompson"]
    split, top_two = four["equal"], four["top-two"]
    ratio = thompson.median_units / weighted.median_units
    return [
        (
            ratio <= 2,
            f"thompson's median units to a decision: {units(thompson.median_units)}, {ratio:.2f}x the "
            f"weighted split's {units(weighted.median_units)} (bound: <= 2x)",
        ),
        (
            thompson.mean_best_share >= 0.7,
            f"thompson's traffic to the better arm: {thompson.mean_best_share:.1%} (bound: >= 70%)",
        ),
        (thompson.wrong_rate <= 0.05, f"thompson's wrong winners: {thompson.wrong_rate:.1%} (bound: <= 5%)"),
        (
            equal.ship_rate <= 0.05,
            f"two equal arms: thompson shipped a winner in {equal.ship_rate:.1%} of {equal.runs} runs "
            "(bound: <= 5%)",
        ),
        (
            top_two.median_units < split.median_units,
            f"four variants: top-two-thompson's median units {units(top_two.median_units)}, the equal "
            f"split's {units(split.median_units)} (bound: fewer)",
        ),
    ]


def check(found: list[tuple[bool, str]]) -> bool:
    """Print PASS or FAIL per bound; whether all hold."""
    print("\nissue 17's bounds")
    for held, said in found:
        print(f"{'PASS' if held else 'FAIL'}  {said}")
    return all(held for held, _ in found)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="8 runs a row, 30 of equal variants, shorter")
    parser.add_argument(
        "--max-expected-loss",
        type=float,
        default=DEFAULT_MAX_EXPECTED_LOSS,
        help=f"the bandits' threshold, a share of the control's mean (default {DEFAULT_MAX_EXPECTED_LOSS:g})",
    )
    args = parser.parse_args()
    LOSS[0] = args.max_expected_loss
    print(f"bandit rule: chance to be best >= 95%, expected loss <= {LOSS[0]:g} of the control's mean")
    runs, equal_runs, equal_steps = (8, 30, 100) if args.quick else (200, 500, 400)
    started = time.perf_counter()

    two = [
        ("anchor: weighted 50/50 (always-valid test)", run(TWO, Strategy.weighted, runs, 400)),
        (label(Strategy.thompson_sampling), run(TWO, Strategy.thompson_sampling, runs, 400)),
        (
            label(Strategy.thompson_sampling, ", floor 0.01"),
            run(TWO, Strategy.thompson_sampling, runs, 400, floor=0.01),
        ),
        (label(Strategy.epsilon_greedy), run(TWO, Strategy.epsilon_greedy, runs, 400)),
    ]
    decisions_table(f"two variants, A=0.10 B=0.13: {runs} runs", two)

    horizon = equal_steps * 200
    print(f"\ntwo equal variants, A=B=0.10: {equal_runs} runs of up to {horizon:,} units")
    print(f"{'':<50}{'shipped a winner':>18}{'any decision':>14}")
    equal: dict[Strategy, RepeatedResult] = {}
    for name, strategy in (
        ("anchor: weighted 50/50 (always-valid test)", Strategy.weighted),
        (label(Strategy.thompson_sampling), Strategy.thompson_sampling),
    ):
        r = equal[strategy] = run(EQUAL, strategy, equal_runs, equal_steps)
        print(f"{name:<50}{r.ship_rate:>18.1%}{r.decided_rate:>14.1%}")

    four = [
        ("anchor: equal split (always-valid test)", run(FOUR, Strategy.random, runs, 400)),
        (label(Strategy.top_two_thompson), run(FOUR, Strategy.top_two_thompson, runs, 400)),
        (label(Strategy.thompson_sampling), run(FOUR, Strategy.thompson_sampling, runs, 400)),
    ]
    decisions_table(f"four variants, 0.10 0.10 0.11 0.13: {runs} runs", four)
    print(f"\n{time.perf_counter() - started:.0f} s")
    found = bounds(
        {"weighted": two[0][1], "thompson": two[1][1]},
        equal[Strategy.thompson_sampling],
        {"equal": four[0][1], "top-two": four[1][1]},
    )
    if not check(found):
        if args.quick:
            print("(--quick: too few runs for the bounds to mean much; a FAIL here is a hint, not a verdict)")
            return
        sys.exit(1)


if __name__ == "__main__":
    main()
