"""Has the prediction distribution moved? The recent part of the window against the earlier part.

Classifiers: chi-square test of label counts (as ``scipy.stats.chi2_contingency``, with Yates'
correction for two labels). Numeric predictions: Welch's t-test of the means from sufficient statistics
(as ``scipy.stats.ttest_ind_from_stats``). Both use only the tails from ``scipy.special``; the tests
compare them with scipy.stats, which costs ~1 s to import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from mlpy.monitoring.summary import Totals

SHIFT_P_THRESHOLD = 0.001
MIN_COUNT = 20


@dataclass(frozen=True, slots=True)
class Shift:
    test: str
    statistic: float
    p_value: float
    shifted: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "shifted": self.shifted,
        }


def prediction_shift(earlier: Totals, recent: Totals, threshold: float = SHIFT_P_THRESHOLD) -> Shift | None:
    """``None`` when either side has fewer than 20 predictions (too little to judge)."""
    labels = sorted(set(earlier.labels) | set(recent.labels))
    if len(labels) >= 2 and min(sum(earlier.labels.values()), sum(recent.labels.values())) >= MIN_COUNT:
        table = np.array(
            [[earlier.labels.get(x, 0) for x in labels], [recent.labels.get(x, 0) for x in labels]]
        )
        statistic, p_value = _chi_square(table)
        return Shift("chi-square", statistic, p_value, p_value < threshold)
    if min(earlier.prediction_n, recent.prediction_n) < MIN_COUNT:
        return None
    moments = [_moments(t) for t in (earlier, recent)]
    if any(sd == 0 for _, sd, _ in moments):
        return None
    (m1, s1, n1), (m2, s2, n2) = moments
    statistic, p_value = _welch(m2, s2, n2, m1, s1, n1)
    return Shift("welch", statistic, p_value, p_value < threshold)


def _chi_square(observed: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Pearson's test of independence on a 2 x k table of counts (every row and column total > 0)."""
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    freedom = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    counts = observed.astype(float)
    if freedom == 1:  # Yates: move each count half a unit towards its expectation
        difference = expected - counts
        counts = counts + np.sign(difference) * np.minimum(0.5, np.abs(difference))
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return statistic, float(special.chdtrc(freedom, statistic))


def _welch(m1: float, s1: float, n1: int, m2: float, s2: float, n2: int) -> tuple[float, float]:
    """Welch's t statistic of ``m1 - m2`` and its two-sided p-value, from means, sample SDs and sizes."""
    v1, v2 = s1 * s1 / n1, s2 * s2 / n2
    freedom = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    t = (m1 - m2) / math.sqrt(v1 + v2)
    return t, float(2 * special.stdtr(freedom, -abs(t)))


def _moments(t: Totals) -> tuple[float, float, int]:
    n = t.prediction_n
    mean = t.prediction_sum / n
    variance = max(0.0, (t.prediction_sum_sq - t.prediction_sum * mean) / (n - 1))
    return mean, math.sqrt(variance), n
