"""How many units each variant needs before an experiment can detect the effect you care about."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import special

from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.metrics import MetricType
from mlpy.experiments.statistics import confidence_sequence_radius


@dataclass(frozen=True, slots=True)
class PowerResult:
    per_variant: int
    total: int
    sequential_per_variant: int
    effect: float
    standard_deviation: float
    alpha_per_comparison: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_variant": self.per_variant,
            "total": self.total,
            "sequential_per_variant": self.sequential_per_variant,
            "absolute_effect": self.effect,
            "standard_deviation": self.standard_deviation,
            "alpha_per_comparison": self.alpha_per_comparison,
        }


def sample_size(
    metric_type: MetricType,
    baseline: float,
    mde: float,
    *,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    variants: int = 2,
) -> PowerResult:
    """Units per variant for a two-sided test to detect a relative change ``mde`` of ``baseline``.

    With more than two variants alpha is split Bonferroni-style (Holm is never less powerful). The
    sequential figure is the size at which the always-valid interval reaches the effect with the same power:
    the price of being allowed to look every minute.
    """
    _check(metric_type, baseline, mde, sd, alpha, power, variants)
    alpha_each = alpha / (variants - 1)
    z_alpha = float(special.ndtri(1 - alpha_each / 2))
    z_power = float(special.ndtri(power))
    effect = abs(baseline * mde)
    if metric_type is MetricType.proportion:
        p1, p2 = baseline, baseline * (1 + mde)
        pooled = (p1 + p2) / 2
        spread = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
            p1 * (1 - p1) + p2 * (1 - p2)
        )
        n = (spread / effect) ** 2
        sigma = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    else:
        assert sd is not None
        sigma = sd
        n = 2 * ((z_alpha + z_power) * sd / effect) ** 2
    per_variant = math.ceil(n)
    sequential = _sequential_size(effect, sigma, alpha_each, z_power, per_variant)
    return PowerResult(per_variant, per_variant * variants, sequential, effect, sigma, alpha_each)


def _sequential_size(effect: float, sigma: float, alpha: float, z_power: float, start: int) -> int:
    """Smallest n per variant with radius(n) + z_power·se(n) <= effect (bisection; radius shrinks with n)."""

    def enough(n: int) -> bool:
        se = sigma * math.sqrt(2 / n)
        return confidence_sequence_radius(se, 2 * n, alpha) + z_power * se <= effect

    low, high = max(2, start), max(4, start * 2)
    while not enough(high):
        low, high = high, high * 2
        if high > 10**12:
            return high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def _check(
    metric_type: MetricType,
    baseline: float,
    mde: float,
    sd: float | None,
    alpha: float,
    power: float,
    variants: int,
) -> None:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise InvalidExperimentError(
            f"alpha {alpha} and power {power} must be in (0, 1)", hint="e.g. 0.05 and 0.8"
        )
    if variants < 2:
        raise InvalidExperimentError(
            f"--variants {variants} must be at least 2", hint="control plus treatments"
        )
    if not math.isfinite(mde) or mde == 0:
        raise InvalidExperimentError(
            f"--mde {mde} must be a non-zero relative change", hint="e.g. 0.05 for +5%"
        )
    if metric_type is MetricType.proportion:
        if not 0 < baseline < 1 or not 0 < baseline * (1 + mde) < 1:
            raise InvalidExperimentError(
                f"baseline {baseline} with mde {mde} leaves the range of a proportion",
                hint="the baseline and baseline*(1+mde) must lie in (0, 1)",
            )
    else:
        if sd is None or not math.isfinite(sd) or sd <= 0:
            raise InvalidExperimentError(
                "a mean metric needs --sd > 0", hint="the metric's standard deviation"
            )
        if not math.isfinite(baseline) or baseline == 0:
            raise InvalidExperimentError(
                f"baseline {baseline} must be non-zero",
                hint="the relative mde needs a non-zero baseline mean",
            )
