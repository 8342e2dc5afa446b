"""Has the prediction distribution moved? The recent part of the window against the earlier part.

Classifiers: chi-square test of label counts (scipy.stats.chi2_contingency). Numeric predictions:
Welch's t-test of the means from sufficient statistics (scipy.stats.ttest_ind_from_stats).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

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
        result = sps.chi2_contingency(table)
        p_value = float(result.pvalue)
        return Shift("chi-square", float(result.statistic), p_value, p_value < threshold)
    if min(earlier.prediction_n, recent.prediction_n) < MIN_COUNT:
        return None
    moments = [_moments(t) for t in (earlier, recent)]
    if any(sd == 0 for _, sd, _ in moments):
        return None
    (m1, s1, n1), (m2, s2, n2) = moments
    result = sps.ttest_ind_from_stats(m2, s2, n2, m1, s1, n1, equal_var=False)
    p_value = float(result.pvalue)
    return Shift("welch", float(result.statistic), p_value, p_value < threshold)


def _moments(t: Totals) -> tuple[float, float, int]:
    n = t.prediction_n
    mean = t.prediction_sum / n
    variance = max(0.0, (t.prediction_sum_sq - t.prediction_sum * mean) / (n - 1))
    return mean, math.sqrt(variance), n
