"""The verdict on an experiment: ship, roll back, keep running or inconclusive, with its reasons.

:func:`analyse` is pure and cheap, so the operator can call it on every reconcile and the simulator
after every batch.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mlpy.corrections import Correction
from mlpy.experiments.allocation import Strategy
from mlpy.experiments.bandit_stopping import DEFAULT_MAX_EXPECTED_LOSS, BanditCheck, bandit_check
from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.metrics import MetricSpec
from mlpy.experiments.statistics import (
    Comparison,
    SampleRatio,
    adjust_p_values,
    compare,
    sample_ratio_check,
)
from mlpy.experiments.stats import VariantStats


class Decision(enum.StrEnum):
    ship = "ship"
    roll_back = "roll_back"
    keep_running = "keep_running"
    inconclusive = "inconclusive"


@dataclass(frozen=True, slots=True)
class StoppingRule:
    """When an experiment may end: enough values per variant, at this confidence, within this time.

    ``max_expected_loss`` is for the Bayesian strategies only (thompson-sampling, top-two-thompson): the
    expected loss of shipping the leader they accept, as a share of the control's mean.
    """

    min_samples_per_variant: int = 100
    confidence: float = 0.95
    max_duration: timedelta | None = None
    max_expected_loss: float = DEFAULT_MAX_EXPECTED_LOSS

    def __post_init__(self) -> None:
        if self.min_samples_per_variant < 2:
            raise InvalidExperimentError(
                f"minSamplesPerVariant is {self.min_samples_per_variant}", hint="use at least 2"
            )
        if not 0.5 <= self.confidence < 1:
            raise InvalidExperimentError(
                f"confidence {self.confidence} is outside [0.5, 1)", hint="e.g. 0.95"
            )
        if self.max_duration is not None and self.max_duration <= timedelta(0):
            raise InvalidExperimentError("maxDuration must be positive", hint="e.g. 14d or 336h")
        if not 0 < self.max_expected_loss < 1:
            raise InvalidExperimentError(
                f"maxExpectedLoss {self.max_expected_loss} is outside (0, 1)",
                hint=f"a share of the control's mean, e.g. {DEFAULT_MAX_EXPECTED_LOSS:g}",
            )

    @property
    def alpha(self) -> float:
        return round(1 - self.confidence, 12)

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_samples_per_variant": self.min_samples_per_variant,
            "confidence": self.confidence,
            "max_duration_s": None if self.max_duration is None else self.max_duration.total_seconds(),
            "max_expected_loss": self.max_expected_loss,
        }


@dataclass(frozen=True, slots=True)
class VariantResult:
    name: str
    stats: VariantStats
    comparison: Comparison | None = None
    adjusted_p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = self.stats.to_dict()
        data["comparison"] = None if self.comparison is None else self.comparison.to_dict()
        data["adjusted_p_value"] = self.adjusted_p_value
        return data


@dataclass(frozen=True, slots=True)
class Analysis:
    decision: Decision
    winner: str | None
    reasons: list[str]
    control: str
    metric: MetricSpec
    stopping: StoppingRule
    variants: dict[str, VariantResult]
    srm: SampleRatio | None
    sequential: bool
    correction: Correction
    elapsed_s: float
    leader: str | None = None
    p_value: float | None = None
    lift: float | None = None
    bandit: BanditCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": str(self.decision),
            "winner": self.winner,
            "reasons": self.reasons,
            "control": self.control,
            "leader": self.leader,
            "p_value": self.p_value,
            "lift": self.lift,
            "metric": self.metric.to_dict(),
            "stopping": self.stopping.to_dict(),
            "sequential": self.sequential,
            "correction": str(self.correction),
            "elapsed_s": self.elapsed_s,
            "srm": None if self.srm is None else self.srm.to_dict(),
            "variants": {name: result.to_dict() for name, result in self.variants.items()},
            "bandit": None if self.bandit is None else self.bandit.to_dict(),
        }


def analyse(
    stats_by_variant: Mapping[str, VariantStats],
    metric: MetricSpec,
    stopping: StoppingRule,
    started_at: datetime,
    now: datetime,
    *,
    control: str | None = None,
    sequential: bool = True,
    correction: Correction = Correction.holm,
    expected_share: Mapping[str, float] | None = None,
    strategy: Strategy | str | None = None,
    seed: int = 0,
) -> Analysis:
    """Compare every variant with the control (the first variant unless named) and decide.

    Ship when a variant is significantly better (after Holm/BH across variants), roll back when every
    variant is significantly worse, otherwise keep running until ``max_duration``, then inconclusive.
    A sample-ratio mismatch makes the result inconclusive whatever the numbers say. For a Bayesian
    ``strategy`` the bandit rule (mlpy.experiments.bandit_stopping, seeded by ``seed``) decides instead
    of the test: ship a leading treatment, roll back when the control leads; the comparisons are still
    reported.
    """
    if len(stats_by_variant) < 2:
        raise InvalidExperimentError("an experiment needs at least two variants", hint="add a variant")
    control = control or next(iter(stats_by_variant))
    if control not in stats_by_variant:
        raise InvalidExperimentError(f"control {control!r} is not a variant", hint="name an existing variant")
    elapsed = now - started_at
    expired = stopping.max_duration is not None and elapsed >= stopping.max_duration
    srm = sample_ratio_check(stats_by_variant, expected_share)

    def result(
        decision: Decision,
        winner: str | None,
        reasons: list[str],
        variants: dict[str, VariantResult],
        headline: tuple[str | None, float | None, float | None] = (None, None, None),
        bandit: BanditCheck | None = None,
    ) -> Analysis:
        return Analysis(
            decision=decision,
            winner=winner,
            reasons=reasons,
            control=control,
            metric=metric,
            stopping=stopping,
            variants=variants,
            srm=srm,
            sequential=sequential,
            correction=correction,
            elapsed_s=elapsed.total_seconds(),
            leader=headline[0],
            p_value=headline[1],
            lift=headline[2],
            bandit=bandit,
        )

    plain = {name: VariantResult(name, stats) for name, stats in stats_by_variant.items()}

    short = [name for name, s in stats_by_variant.items() if s.n < stopping.min_samples_per_variant]
    if short:
        reason = f"{', '.join(short)} below {stopping.min_samples_per_variant} samples"
        if expired:
            return result(Decision.inconclusive, None, [f"maximum duration reached; {reason}"], plain)
        return result(Decision.keep_running, None, [reason], plain)

    treatments = [name for name in stats_by_variant if name != control]
    comparisons = {
        name: compare(
            stats_by_variant[control],
            stats_by_variant[name],
            alpha=stopping.alpha,
            sequential=sequential,
            sign=metric.sign,
        )
        for name in treatments
    }
    adjusted = dict(
        zip(
            treatments, adjust_p_values([comparisons[n].p_value for n in treatments], correction), strict=True
        )
    )
    variants = {
        name: VariantResult(name, stats, comparisons.get(name), adjusted.get(name))
        for name, stats in stats_by_variant.items()
    }
    leader = max(treatments, key=lambda n: metric.sign * comparisons[n].lift)
    headline = (leader, adjusted[leader], _finite(comparisons[leader].lift))

    if srm is not None and srm.mismatch:
        reason = (
            f"sample ratio mismatch (chi-square p={srm.p_value:.2g} < 0.001): check assignment and logging"
        )
        return result(Decision.inconclusive, None, [reason], variants, headline)

    if strategy is not None and Strategy.parse(str(strategy)).bayesian_stopping:
        check = bandit_check(
            stats_by_variant,
            metric,
            control=control,
            confidence=stopping.confidence,
            max_expected_loss=stopping.max_expected_loss,
            seed=seed,
        )
        reasons = [check.describe(metric)]
        if check.met:
            decision = Decision.roll_back if check.leader == control else Decision.ship
            return result(decision, check.leader, reasons, variants, headline, check)
        if expired:
            reasons = [f"maximum duration reached; {reasons[0]}"]
            return result(Decision.inconclusive, None, reasons, variants, headline, check)
        return result(Decision.keep_running, None, reasons, variants, headline, check)

    alpha = stopping.alpha
    better = [n for n in treatments if adjusted[n] < alpha and metric.sign * comparisons[n].lift > 0]
    worse = [n for n in treatments if adjusted[n] < alpha and metric.sign * comparisons[n].lift < 0]
    if better:
        winner = max(better, key=lambda n: metric.sign * comparisons[n].lift)
        reason = _describe(winner, control, comparisons[winner], adjusted[winner], metric, "better")
        return result(Decision.ship, winner, [reason], variants, headline)
    if worse and len(worse) == len(treatments):
        reasons = [_describe(n, control, comparisons[n], adjusted[n], metric, "worse") for n in worse]
        return result(Decision.roll_back, control, reasons, variants, headline)
    reason = f"no variant differs from {control} at {stopping.confidence:.0%} confidence yet"
    if expired:
        return result(
            Decision.inconclusive, None, [f"maximum duration reached; {reason}"], variants, headline
        )
    return result(Decision.keep_running, None, [reason], variants, headline)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _describe(name: str, control: str, c: Comparison, p: float, metric: MetricSpec, verdict: str) -> str:
    kind = "relative lift" if c.relative else "difference"
    return (
        f"{name} is {verdict} than {control} on {metric.name} ({metric.goal}): {kind} {c.lift:+.4g} "
        f"[{c.ci_low:+.4g}, {c.ci_high:+.4g}], p={p:.3g}"
    )
