"""When a bandit may stop: the leader is probably the best, and shipping it now would cost next to nothing.

The always-valid test against the control suits a fixed split. Under Thompson sampling the control is
starved towards its floor, so its interval narrows slowly and that test rarely concludes, although the
bandit has long known the answer. So the Bayesian strategies stop on their own posterior instead: the leader's
chance to be best reaches ``confidence`` AND the expected loss of shipping it, E[max_k θ_k - θ_leader],
is at most ``max_expected_loss`` of the control's mean. Checked after every batch, a 95% chance to be
best is soon reached by chance between two equal variants; the loss condition is what holds them back,
until both are measured well enough to tell apart a difference too small to matter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpy.experiments.metrics import MetricSpec, MetricType
from mlpy.experiments.posterior import POSTERIOR_DRAWS, chance_best, expected_loss, posterior_samples
from mlpy.experiments.stats import VariantStats

#: The expected loss accepted when shipping the leader, as a share of the control's mean (0.00007: 0.007%,
#: 0.000007 of conversion on a 10% baseline). Strict on purpose: the expected loss shrinks with data
#: whatever the truth, so this is what keeps two equal variants from shipping a winner over a long run
#: checked after every batch. Tuned in bench/experiments_bandit.py (docs/experiments.md has the figures).
DEFAULT_MAX_EXPECTED_LOSS = 0.00007


@dataclass(frozen=True, slots=True)
class BanditCheck:
    """The posterior's verdict: who leads, how sure, and what shipping the leader would give up."""

    leader: str
    chance_best: dict[str, float]
    expected_loss: dict[str, float]  # in the metric's units
    scale: float  # |control's posterior mean|, what the threshold is relative to (1 when that is 0)
    confidence: float
    max_expected_loss: float

    @property
    def relative_loss(self) -> float:
        """The leader's expected loss as a share of the control's mean (the threshold's unit)."""
        return self.expected_loss[self.leader] / self.scale

    @property
    def confident(self) -> bool:
        return self.chance_best[self.leader] >= self.confidence

    @property
    def cheap(self) -> bool:
        return self.relative_loss <= self.max_expected_loss

    @property
    def met(self) -> bool:
        return self.confident and self.cheap

    def describe(self, metric: MetricSpec) -> str:
        """One line for the reasons: both conditions with what each needs."""
        return (
            f"{self.leader} leads on {metric.name} ({metric.goal}): chance to be best "
            f"{self.chance_best[self.leader]:.1%} (needs {self.confidence:.0%}), expected loss of shipping "
            f"it {self.relative_loss:.3g} of the control's mean (needs <= {self.max_expected_loss:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "leader": self.leader,
            "chance_to_be_best": self.chance_best,
            "expected_loss": self.expected_loss,
            "relative_expected_loss": self.relative_loss,
            "confidence": self.confidence,
            "max_expected_loss": self.max_expected_loss,
            "met": self.met,
        }


def bandit_check(
    stats: Mapping[str, VariantStats],
    metric: MetricSpec,
    *,
    control: str,
    confidence: float,
    max_expected_loss: float,
    seed: int = 0,
    draws: int = POSTERIOR_DRAWS,
) -> BanditCheck:
    """Monte Carlo over the same posteriors as the allocation; seeded, so every replica agrees."""
    names = list(stats)
    samples = posterior_samples([stats[name] for name in names], metric, np.random.default_rng(seed), draws)
    best = chance_best(samples, metric.sign)
    loss = expected_loss(samples, metric.sign)
    leader = names[int(np.argmax(best))]
    c = stats[control]
    if metric.type is MetricType.proportion:
        centre = (1.0 + min(max(c.total, 0.0), float(c.n))) / (2.0 + c.n)
    else:
        centre = c.mean if c.n else 0.0
    scale = abs(centre) if math.isfinite(centre) and abs(centre) > 1e-12 else 1.0
    return BanditCheck(
        leader=leader,
        chance_best={name: float(best[i]) for i, name in enumerate(names)},
        expected_loss={name: float(loss[i]) for i, name in enumerate(names)},
        scale=scale,
        confidence=confidence,
        max_expected_loss=max_expected_loss,
    )
