"""Router hot path: Experiment.assign (sticky and anonymous) against the standard library's weighted pick.

Anchor: ``random.choices(names, weights)``, the simplest thing a router could do (not sticky, no
accounting). Run: python bench/experiments_assign.py
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from mlpy.experiments import Experiment, Variant

CALLS = 200_000


def per_call_us(function: Callable[[int], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(CALLS):
            function(i)
        best = min(best, time.perf_counter() - start)
    return best / CALLS * 1e6


def main() -> None:
    variants = [Variant("control", 80), Variant("candidate", 15), Variant("challenger", 5)]
    experiment = Experiment("bench", variants, refresh_interval_s=3600)
    names = [v.name for v in variants]
    weights = [v.weight for v in variants]
    units = [f"user-{i}" for i in range(CALLS)]

    anchor = per_call_us(lambda i: random.choices(names, weights)[0])
    sticky = per_call_us(lambda i: experiment.assign(units[i]))
    anonymous = per_call_us(lambda i: experiment.assign(None))
    print(f"{'case':<42}{'us/call':>10}{'vs anchor':>11}")
    print(f"{'anchor: random.choices (no sticky, no stats)':<42}{anchor:>10.2f}{1.0:>10.2f}x")
    print(f"{'Experiment.assign(unit_id) sticky + stats':<42}{sticky:>10.2f}{sticky / anchor:>10.2f}x")
    print(f"{'Experiment.assign(None) + stats':<42}{anonymous:>10.2f}{anonymous / anchor:>10.2f}x")


if __name__ == "__main__":
    main()
