from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mlpy.corrections import Correction
from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.statistics import (
    adjust_p_values,
    always_valid_p_value,
    compare,
    confidence_sequence_radius,
    sample_ratio_check,
    welch_test,
)
from mlpy.experiments.stats import VariantStats, merge


def _samples(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(10.0, 2.0, 300), rng.normal(10.4, 3.5, 450)


def test_sufficient_statistics_merge_like_the_pooled_data() -> None:
    a, b = _samples()
    merged = merge({"x": VariantStats.of(a)}, {"x": VariantStats.of(b)})["x"]
    both = np.concatenate([a, b])
    assert merged.n == both.size
    assert merged.mean == pytest.approx(both.mean())
    assert merged.variance == pytest.approx(both.var(ddof=1))


def test_welch_matches_scipy() -> None:
    a, b = _samples()
    t, df, p = welch_test(VariantStats.of(a), VariantStats.of(b))
    expected = sps.ttest_ind(b, a, equal_var=False)
    assert t == pytest.approx(expected.statistic)
    assert df == pytest.approx(expected.df)
    assert p == pytest.approx(expected.pvalue)


def test_fixed_horizon_absolute_comparison_matches_scipy_interval() -> None:
    a, b = _samples(2)
    result = compare(VariantStats.of(a), VariantStats.of(b), sequential=False, relative=False)
    expected = sps.ttest_ind(b, a, equal_var=False)
    low, high = expected.confidence_interval(0.95)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert (result.ci_low, result.ci_high) == (pytest.approx(low), pytest.approx(high))


def test_relative_lift_uses_the_delta_method() -> None:
    a, b = _samples(3)
    result = compare(VariantStats.of(a), VariantStats.of(b), sequential=False)
    ma, mb = a.mean(), b.mean()
    se = math.sqrt(b.var(ddof=1) / (b.size * ma**2) + mb**2 * a.var(ddof=1) / (a.size * ma**4))
    assert result.lift == pytest.approx(mb / ma - 1)
    assert result.standard_error == pytest.approx(se)
    assert result.chance_to_beat_control == pytest.approx(sps.norm.cdf(result.lift / se))
    lower_is_better = compare(VariantStats.of(a), VariantStats.of(b), sequential=False, sign=-1)
    assert lower_is_better.chance_to_beat_control == pytest.approx(1 - result.chance_to_beat_control)


def test_confidence_sequence_is_wider_than_the_fixed_interval_and_matches_its_p_value() -> None:
    for n in (100, 1_000, 100_000):
        se = 1 / math.sqrt(n)
        radius = confidence_sequence_radius(se, n, 0.05)
        assert radius > 1.96 * se
        assert always_valid_p_value(radius, se, n, 0.05) == pytest.approx(0.05)
        assert always_valid_p_value(radius * 1.5, se, n, 0.05) < 0.05


def test_comparison_needs_two_values_per_variant() -> None:
    with pytest.raises(InvalidExperimentError, match="at least two values"):
        compare(VariantStats.of([1.0]), VariantStats.of([1.0, 2.0]))


def test_srm_statistic_matches_scipy_chisquare() -> None:
    stats = {
        "A": VariantStats(assigned=5_200, expected=5_000),
        "B": VariantStats(assigned=4_800, expected=5_000),
    }
    srm = sample_ratio_check(stats)
    assert srm is not None
    expected = sps.chisquare([5_200, 4_800], f_exp=[5_000, 5_000])
    assert srm.statistic == pytest.approx(expected.statistic)
    assert srm.p_value == pytest.approx(expected.pvalue)
    assert srm.mismatch  # p ~ 6e-5 < 0.001


def test_srm_not_flagged_on_a_legitimate_unequal_split() -> None:
    stats = {
        "A": VariantStats(assigned=9_010, expected=9_000),
        "B": VariantStats(assigned=990, expected=1_000),
    }
    srm = sample_ratio_check(stats)
    assert srm is not None
    assert not srm.mismatch
    # The same counts judged against an equal split would be a (false) alarm:
    naive = sample_ratio_check(stats, {"A": 0.5, "B": 0.5})
    assert naive is not None
    assert naive.mismatch


def test_srm_waits_for_enough_traffic() -> None:
    assert (
        sample_ratio_check(
            {"A": VariantStats(assigned=3, expected=2), "B": VariantStats(assigned=1, expected=2)}
        )
        is None
    )


def test_holm_adjustment() -> None:
    assert adjust_p_values([0.01, 0.04, 0.03], Correction.holm) == pytest.approx([0.03, 0.06, 0.06])
    assert adjust_p_values([0.2], Correction.holm) == [0.2]


def test_benjamini_hochberg_matches_scipy() -> None:
    p = [0.01, 0.04, 0.03, 0.2]
    assert adjust_p_values(p, Correction.benjamini_hochberg) == pytest.approx(
        list(sps.false_discovery_control(p, method="bh"))
    )


def test_relative_lift_keeps_its_sign_for_negative_means() -> None:
    rng = np.random.default_rng(5)
    control, treatment = rng.normal(-2.0, 0.5, 500), rng.normal(-1.0, 0.5, 500)
    result = compare(VariantStats.of(control), VariantStats.of(treatment), sequential=False)
    assert result.lift == pytest.approx((treatment.mean() - control.mean()) / abs(control.mean()))
    assert result.lift > 0
    assert result.chance_to_beat_control > 0.99


def test_metric_spec_accepts_plain_strings() -> None:
    """A string goal must mean the same as the enum: "maximize" once silently meant "minimize"."""
    from mlpy.experiments.errors import InvalidExperimentError
    from mlpy.experiments.metrics import Goal, MetricSpec, MetricType

    spec = MetricSpec("conversion", goal="maximize", type="proportion")  # type: ignore[arg-type]
    assert spec.goal is Goal.maximize
    assert spec.type is MetricType.proportion
    assert spec.sign == 1.0
    assert MetricSpec("error", goal="minimize").sign == -1.0  # type: ignore[arg-type]
    with pytest.raises(InvalidExperimentError, match="bad metric"):
        MetricSpec("x", goal="upward")  # type: ignore[arg-type]
