"""The same simulated experiment run many times: how fast it decides, how often it is wrong, who gets the
traffic. One run says little about a stopping rule; its distribution over seeds is what it promises."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mlpy.experiments.analysis import Decision
from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.simulation import MAX_ANALYSES, SimulationConfig, simulate


@dataclass(frozen=True, slots=True)
class RepeatedResult:
    """Per run: units to the first ship or roll back (None: none within the horizon), what it named the
    winner, and the traffic share of the truly best variant until then. With equal truths there is no
    best variant (``best`` is None): every decision is a false one."""

    strategy: str
    control: str
    best: str | None
    units: tuple[int | None, ...]
    winners: tuple[str | None, ...]
    best_share: tuple[float, ...]

    @property
    def runs(self) -> int:
        return len(self.units)

    @property
    def median_units(self) -> float:
        """Median units to a decision, counting runs without one as never (inf when most have none)."""
        return float(np.median([math.inf if u is None else u for u in self.units]))

    @property
    def decided_rate(self) -> float:
        return sum(u is not None for u in self.units) / self.runs

    @property
    def ship_rate(self) -> float:
        """Runs that shipped a variant other than the control (a roll back keeps the control)."""
        return sum(w is not None and w != self.control for w in self.winners) / self.runs

    @property
    def wrong_rate(self) -> float:
        """Runs that decided for a variant that is not the best (every decision, with equal truths)."""
        return sum(w is not None and w != self.best for w in self.winners) / self.runs

    @property
    def mean_best_share(self) -> float:
        return float(np.mean(self.best_share)) if self.best is not None else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "runs": self.runs,
            "median_units_to_decision": None if math.isinf(self.median_units) else self.median_units,
            "decided_rate": self.decided_rate,
            "ship_rate": self.ship_rate,
            "wrong_rate": self.wrong_rate,
            "best_traffic_share": None if self.best is None else self.mean_best_share,
        }


def repeat_simulation(config: SimulationConfig, runs: int) -> RepeatedResult:
    """``runs`` simulations with seeds ``config.seed + 1`` onwards, each until its first decision or
    ``config.steps``; the decision and the winner are the real analysis'."""
    if runs < 1:
        raise InvalidExperimentError(f"{runs} runs must be positive", hint="e.g. 200 runs")
    if runs * config.steps > MAX_ANALYSES:
        raise InvalidExperimentError(
            f"{runs} runs x {config.steps} steps is too many analyses",
            hint=f"keep runs x steps under {MAX_ANALYSES}",
        )
    names = list(config.truths)
    top = max(config.truths.values(), key=lambda v: config.metric.sign * v)
    leaders = [name for name in names if config.truths[name] == top]
    best = leaders[0] if len(leaders) == 1 else None
    units: list[int | None] = []
    winners: list[str | None] = []
    shares: list[float] = []
    for run in range(runs):
        result = simulate(replace(config, seed=config.seed + 1 + run), stop_on_decision=True)
        step = result.decided_at_step
        units.append(None if step is None else step * config.units_per_step)
        analysis = result.analysis
        winners.append(analysis.winner if analysis.decision in (Decision.ship, Decision.roll_back) else None)
        total = sum(result.traffic.values())
        shares.append(result.traffic[best] / total if best is not None and total else math.nan)
    return RepeatedResult(str(config.strategy), names[0], best, tuple(units), tuple(winners), tuple(shares))
