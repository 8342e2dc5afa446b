"""Is a metric drifting up or down? Least-squares slope and its significance.

The same figures as ``scipy.stats.linregress`` (the tests compare them), computed with NumPy and one
Student's t tail from ``scipy.special``: importing ``scipy.stats`` costs ~1 s, which every
``mlpy monitor`` command would pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from scipy import special

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
    x, y = hours - hours.mean(), data - data.mean()
    sxx, sxy, syy = float(x @ x), float(x @ y), float(y @ y)
    slope = sxy / sxx
    r_squared = min(1.0, sxy * sxy / (sxx * syy))
    freedom = len(pairs) - 2
    if r_squared >= 1.0:
        p_value = 0.0
    else:
        t = np.sqrt(r_squared * freedom / (1.0 - r_squared))
        p_value = float(2 * special.stdtr(freedom, -t))
    intercept = float(data.mean() - slope * hours.mean())
    return Trend(slope, intercept, p_value, r_squared, len(pairs), p_value < alpha)
