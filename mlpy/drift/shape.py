"""The shape test beside KS: Anderson-Darling on standardised samples, for changes that keep mean and sd.

A column that turns bimodal or heavy-tailed while keeping its mean and variance can move KS's D by less
than its 0.05 effect guard, so KS alone never flags it however many rows there are. Standardising both
sides (reference by its profile's mean and sd, the window by its own) removes location and scale, which
KS already judges, and leaves the shape; the Anderson-Darling distance weighs the tails, where a
heavy-tailed change shows. Like KS it needs an effect size as well as a p-value (docs/drift.md).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from mlpy.drift.profile import quantile_sketch
from mlpy.drift.stats import WARNINGS_LOCK, FloatArray, TestResult, merge_sorted

# ∫ (F - G)² / (H (1 - H)) dH for two equal-sized samples with disjoint supports: the effect's scale.
DISTANCE_MAX = 2.0 * (2.0 * math.log(2.0) - 1.0)
# The test runs on at most this many values per side: evenly spaced quantiles of a larger side, which
# reproduce its CDF to within 1/SHAPE_SAMPLE (effect sizes within 1e-4 of the full samples' at 10^6).
SHAPE_SAMPLE = 10_000
# A reference where one value holds more than this share of the values (counts, integers, rounded
# amounts) gets no shape test: standardising each side by its own mean and sd moves the repeated values
# of one side off those of the other, a difference that is only an artefact.
SHAPE_MAX_TIE_SHARE = 0.001


def largest_tie_share(sorted_values: FloatArray) -> float:
    """The share of the values taken by the most repeated one."""
    if len(sorted_values) == 0:
        return 0.0
    starts = np.flatnonzero(np.diff(sorted_values)) + 1
    runs = np.diff(np.concatenate(([0], starts, [len(sorted_values)])))
    return float(runs.max()) / len(sorted_values)


def ad_distance(
    reference: FloatArray,
    current: FloatArray,
    n_reference: int | None = None,
    n_current: int | None = None,
) -> float:
    """∫ (F_ref - F_cur)² / (H (1 - H)) dH over the pooled CDF H, from two sorted samples.

    This is Scholz and Stephens' A²akN (scipy's ``anderson_ksamp(variant="right")``) divided by
    n·m/N, so it does not grow with the sample sizes. ``n_reference`` and ``n_current`` are the true
    sizes when a side is a quantile sketch: they set each side's weight in H. Ties are handled by
    evaluating the CDFs only at the last of each run of equal values.
    """
    k, n = len(reference), len(current)
    if k == 0 or n == 0:
        return math.nan
    merged, from_reference = merge_sorted(reference, current)
    run_ends = np.flatnonzero(np.diff(merged))
    ref_seen = np.cumsum(from_reference)[run_ends]
    f_ref = ref_seen / k
    f_cur = (run_ends + 1 - ref_seen) / n
    weight = (n_reference or k) / ((n_reference or k) + (n_current or n))
    pooled = weight * f_ref + (1.0 - weight) * f_cur
    mass = np.diff(np.concatenate(([0.0], pooled)))
    return float(np.sum((f_ref - f_cur) ** 2 / (pooled * (1.0 - pooled)) * mass))


def shape_test(
    reference: FloatArray,
    current: FloatArray,
    *,
    reference_mean: float,
    reference_std: float,
    n_reference: int | None = None,
) -> TestResult | None:
    """Anderson-Darling between the standardised samples; None without spread or with many ties.

    Both come from at most SHAPE_SAMPLE evenly spaced quantiles per side (the samples themselves below
    that). statistic: A² with the true sizes; effect size: √(distance / DISTANCE_MAX), in [0, 1]. The
    p-value is scipy's ``anderson_ksamp`` (floored at 0.001) on those quantiles: exact for samples up to
    SHAPE_SAMPLE, and above it a conservative stand-in (the quantiles of a large sample vary less than a
    sample of their count), which loses nothing the effect guard keeps, since a shape effect above the
    guard is significant at 10,000 values already.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        # Values near the float limit overflow the variance: no usable scale, so no shape test.
        current_std = float(np.std(current)) if len(current) else 0.0
    if not (reference_std > 0 and current_std > 0 and math.isfinite(reference_std + current_std)):
        return None
    if largest_tie_share(reference) > SHAPE_MAX_TIE_SHARE:
        return None
    # Standardising both sides compares as the reference mapped onto the window's mean and sd does:
    # the distance depends on ranks only, so the window's values are used as they are.
    ref = quantile_sketch(reference, SHAPE_SAMPLE)
    ref = (ref - reference_mean) * (current_std / reference_std) + float(np.mean(current))
    cur = quantile_sketch(current, SHAPE_SAMPLE)
    n_ref = len(reference) if n_reference is None else n_reference
    n_cur = len(current)
    distance = ad_distance(ref, cur, n_ref, n_cur)
    effect = min(math.sqrt(max(distance, 0.0) / DISTANCE_MAX), 1.0)
    statistic = distance * n_ref * n_cur / (n_ref + n_cur)
    return TestResult(statistic, _p_value(ref, cur), effect)


def _p_value(reference: FloatArray, current: FloatArray) -> float:
    from scipy import stats as sps

    samples = [reference, current]
    if len(np.unique(np.concatenate(samples))) < 2:
        return 1.0
    with WARNINGS_LOCK, warnings.catch_warnings():
        # scipy warns when it floors (0.001) or caps (0.25) the interpolated p-value.
        warnings.simplefilter("ignore", UserWarning)
        return float(sps.anderson_ksamp(samples, variant="right").pvalue)
