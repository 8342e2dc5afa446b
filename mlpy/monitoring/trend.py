"""Is a metric drifting up or down? Least-squares slope and its significance (scipy's linregress)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from scipy import stats as sps

MIN_POINTS = 3


@dataclass(frozen=True, slots=True)
class Trend:
    slope_per_hour: float
    intercept: float
    p_value: float
    r_squared: float
    points: int
    significant: bool

    @property
    def direction(self) -> str:
        if not self.significant:
            return "flat"
        return "rising" if self.slope_per_hour > 0 else "falling"

    def to_dict(self) -> dict[str, Any]:
        return {
            "slope_per_hour": self.slope_per_hour,
            "p_value": self.p_value,
            "r_squared": self.r_squared,
            "points": self.points,
            "significant": self.significant,
            "direction": self.direction,
        }


def trend(times: Sequence[datetime], values: Sequence[float | None], alpha: float = 0.05) -> Trend | None:
    """Slope in units per hour over the non-missing points; ``None`` with too few or constant points."""
    pairs = [(t, v) for t, v in zip(times, values, strict=True) if v is not None]
    if len(pairs) < MIN_POINTS:
        return None
    origin = pairs[0][0]
    hours = np.array([(t - origin).total_seconds() / 3600 for t, _ in pairs])
    data = np.array([v for _, v in pairs], dtype=float)
    if np.ptp(hours) == 0:
        return None
    if np.ptp(data) == 0:
        return Trend(0.0, float(data[0]), 1.0, 0.0, len(pairs), False)
    fit = sps.linregress(hours, data)
    p_value = float(fit.pvalue)
    return Trend(
        float(fit.slope), float(fit.intercept), p_value, float(fit.rvalue**2), len(pairs), p_value < alpha
    )
