"""The drift statistics, as pure functions of sorted samples or aligned bucket counts.

Numeric statistics take the reference as a sorted sample (exact, or a quantile sketch) and the current
window as a sorted array of finite values: sorting the window once feeds every statistic, which is what
makes a check cost little more than reading the data. Where scipy has the statistic, the result is
scipy's (the same formula, or scipy's own function), so tests can compare the two to 1e-9. Distributions
come from ``scipy.special``; ``scipy.stats`` (half a second to import) loads only for small samples.
"""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# ks_2samp switches from its exact distribution to the asymptotic one above this size; so do we.
KS_EXACT_MAX_N = 10_000
# Up to this effective size the p-value is scipy's kstwo; above it, the Kolmogorov limit (see ks_p_value).
KS_SCIPY_MAX_EN = 10_000
# Columns are judged on threads, and warnings.catch_warnings swaps process-wide state: one at a time.
WARNINGS_LOCK = threading.Lock()
# Proportions below this floor are raised to it before PSI takes logarithms (see docs/drift.md).
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class TestResult:
    """A statistic, its p-value (None for distances) and an effect size the verdict can require."""

    statistic: float
    p_value: float | None
    effect_size: float


def ks_two_sample(reference: FloatArray, current: FloatArray, n_reference: int | None = None) -> TestResult:
    """Two-sample Kolmogorov-Smirnov, as ``scipy.stats.ks_2samp(method="auto")`` computes it.

    Both arrays must be sorted and finite. ``n_reference`` is the true reference size when ``reference``
    is a quantile sketch of it: the sketch reproduces the reference CDF to within 1/len(sketch), so D is
    that close to the full-data D and the p-value uses the real size.
    """
    n_ref = len(reference) if n_reference is None else n_reference
    n_cur = len(current)
    if max(n_ref, n_cur) <= KS_EXACT_MAX_N and n_ref == len(reference):
        from scipy import stats as sps

        with WARNINGS_LOCK, warnings.catch_warnings():
            # scipy warns when its exact method falls back to the asymptotic one; the result is still scipy's.
            warnings.simplefilter("ignore", RuntimeWarning)
            result = sps.ks_2samp(reference, current, method="auto")
        return TestResult(float(result.statistic), float(result.pvalue), float(result.statistic))
    d = ks_statistic(reference, current)
    return TestResult(d, ks_p_value(d, n_ref, n_cur), d)


def ks_p_value(d: float, n_reference: int, n_current: int) -> float:
    """ks_2samp's asymptotic p-value, ``kstwo.sf(D, round(n·m/(n+m)))``, up to KS_SCIPY_MAX_EN.

    Above it scipy's kstwo costs up to a second per call (an O(n) exact sum), so the limiting
    Kolmogorov distribution with Stephens' finite-size correction stands in: within 1.4e-3 of scipy at
    en = 10,000 and closer as en grows (tests/unit/drift/test_stats.py measures it).
    """
    if math.isnan(d):
        return math.nan
    m, n = sorted((float(n_reference), float(n_current)), reverse=True)
    en = float(np.round(m * n / (m + n)))
    if en <= KS_SCIPY_MAX_EN:
        from scipy import stats as sps

        return float(np.clip(sps.kstwo.sf(d, en), 0.0, 1.0))
    root = math.sqrt(en)
    # scipy.special.kolmogorov is the survival function of the limiting distribution (kstwobign.sf).
    return float(np.clip(special.kolmogorov(d * (root + 0.12 + 0.11 / root)), 0.0, 1.0))


def ks_statistic(reference: FloatArray, current: FloatArray) -> float:
    """sup |F_ref - F_cur| from both sorted samples, in O(len(reference) · log len(current)).

    Between two distinct reference values F_ref is flat, so the supremum is at a reference value
    (both CDFs right-continuous) or just before the next one (F_cur's left limit there).
    """
    if len(reference) == 0 or len(current) == 0:
        return math.nan
    last_of_run = np.flatnonzero(np.diff(reference))
    values = np.append(reference[last_of_run], reference[-1])
    f_ref = np.append(last_of_run + 1, len(reference)) / len(reference)
    f_cur_at = np.searchsorted(current, values, side="right") / len(current)
    f_cur_before = np.searchsorted(current, values, side="left") / len(current)
    f_ref_before = np.concatenate(([0.0], f_ref[:-1]))
    d = max(float(np.max(np.abs(f_ref - f_cur_at))), float(np.max(np.abs(f_ref_before - f_cur_before))))
    return min(d, 1.0)


def wasserstein(reference: FloatArray, current: FloatArray) -> float:
    """W1 = ∫|F_ref - F_cur| dx between two sorted samples (``scipy.stats.wasserstein_distance``).

    The two sorted arrays are merged (merge_sorted), then both CDFs come from running counts, which
    keeps a million-row window to a handful of vector passes.
    """
    k, n = len(reference), len(current)
    if k == 0 or n == 0:
        return math.nan
    merged, from_reference = merge_sorted(reference, current)
    ref_seen = np.cumsum(from_reference)
    cur_seen = np.arange(1, k + n + 1) - ref_seen
    gaps = np.diff(merged)
    cdf_gap = np.abs(ref_seen[:-1] / k - cur_seen[:-1] / n)
    return float(np.dot(cdf_gap, gaps))


def merge_sorted(reference: FloatArray, current: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Both sorted arrays merged into one sorted array, and which of its entries came from ``reference``.

    Placed by position (one binary search per reference value) rather than re-sorted.
    """
    k, n = len(reference), len(current)
    positions = np.searchsorted(current, reference, side="left") + np.arange(k)
    from_reference = np.zeros(k + n, dtype=bool)
    from_reference[positions] = True
    merged = np.empty(k + n, dtype=np.float64)
    merged[positions] = reference
    merged[~from_reference] = current
    return merged, from_reference


def normalised_wasserstein(reference: FloatArray, current: FloatArray, reference_std: float) -> float:
    """W1 in units of the reference's standard deviation, so one threshold fits every column's scale.

    A constant reference has no spread; the shift is then measured relative to the constant's magnitude
    (absolute units when it lies within 1 of zero).
    """
    w1 = wasserstein(reference, current)
    if reference_std > 0:
        return w1 / reference_std
    scale = max(abs(float(reference[0])), 1.0) if len(reference) else 1.0
    return w1 / scale


def proportions(counts: IntArray | FloatArray) -> FloatArray:
    total = float(np.sum(counts))
    if total <= 0:
        return np.zeros(len(counts), dtype=np.float64)
    return np.asarray(counts, dtype=np.float64) / total


def psi(reference_counts: IntArray, current_counts: IntArray, floor: float = PSI_FLOOR) -> float:
    """Population stability index Σ (c - r)·ln(c / r), proportions floored at ``floor`` (not renormalised)."""
    r = np.maximum(proportions(reference_counts), floor)
    c = np.maximum(proportions(current_counts), floor)
    return float(np.sum((c - r) * np.log(c / r)))


def jensen_shannon(reference_counts: IntArray, current_counts: IntArray) -> float:
    """Jensen-Shannon distance with log base 2, so it lies in [0, 1] (``scipy.spatial.distance``)."""
    r, c = proportions(reference_counts), proportions(current_counts)
    if r.sum() == 0 or c.sum() == 0:
        return math.nan
    # What scipy.spatial.distance.jensenshannon computes, without importing scipy.spatial.
    m = (r + c) / 2.0
    divergence = (np.sum(special.rel_entr(r, m)) + np.sum(special.rel_entr(c, m))) / 2.0
    return float(np.sqrt(max(divergence, 0.0) / math.log(2.0)))


def hellinger(reference_counts: IntArray, current_counts: IntArray) -> float:
    """Hellinger distance ‖√r - √c‖/√2, in [0, 1]; scipy has none, so it is written out."""
    r, c = proportions(reference_counts), proportions(current_counts)
    if r.sum() == 0 or c.sum() == 0:
        return math.nan
    return float(np.sqrt(np.sum((np.sqrt(r) - np.sqrt(c)) ** 2) / 2.0))


def chi_square(reference_counts: IntArray, current_counts: IntArray) -> TestResult:
    """Chi-square test of homogeneity on the 2xk table, with Cramér's V as effect size.

    Both samples are treated as samples (``scipy.stats.chi2_contingency``, no Yates correction), unlike a
    goodness-of-fit test against the reference frequencies, which pretends the reference is exact and
    flags sampling noise in it. Buckets empty on both sides are dropped.
    """
    table = np.vstack([reference_counts, current_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or table[0].sum() == 0 or table[1].sum() == 0:
        return TestResult(0.0, 1.0, 0.0) if table.shape[1] == 1 else TestResult(math.nan, None, math.nan)
    chi2, p = _pearson_chi2(table)
    return TestResult(chi2, p, math.sqrt(chi2 / table.sum()))


def _pearson_chi2(table: FloatArray) -> tuple[float, float]:
    """Pearson's statistic and p-value of a 2xk table, as ``chi2_contingency(correction=False)``."""
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return chi2, float(special.chdtrc(table.shape[1] - 1, chi2))


def two_proportion_p_value(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float:
    """p-value that two shares (e.g. null shares) are equal: chi-square on the 2x2 table."""
    if n_a == 0 or n_b == 0:
        return 1.0
    table = np.array([[hits_a, n_a - hits_a], [hits_b, n_b - hits_b]], dtype=np.float64)
    if (table.sum(axis=0) == 0).any():
        return 1.0
    return _pearson_chi2(table)[1]
