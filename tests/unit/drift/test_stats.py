"""The statistics agree with scipy where scipy has them; the others keep their documented properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats as sps
from scipy.spatial import distance

from mlpy.drift import stats

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
samples = arrays(np.float64, st.integers(1, 60), elements=finite)
# Few distinct values, so ties between and within samples are common.
tied = arrays(np.float64, st.integers(1, 60), elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0, 3.0]))
counts = arrays(np.int64, 6, elements=st.integers(0, 1000))


@pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")
@given(a=st.one_of(samples, tied), b=st.one_of(samples, tied))
@settings(max_examples=100, deadline=None)
def test_ks_equals_scipy_on_small_samples(a: np.ndarray, b: np.ndarray) -> None:
    ours = stats.ks_two_sample(np.sort(a), np.sort(b))
    theirs = sps.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-9)


@pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")
@given(a=st.one_of(samples, tied), b=st.one_of(samples, tied))
@settings(max_examples=100, deadline=None)
def test_ks_statistic_without_scipy_equals_scipy(a: np.ndarray, b: np.ndarray) -> None:
    assert stats.ks_statistic(np.sort(a), np.sort(b)) == pytest.approx(
        sps.ks_2samp(a, b).statistic, abs=1e-12
    )


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "decimals"), [(12_000, 11_000, 2), (30_000, 12_500, 3), (10_500, 40_000, 1)]
)
def test_ks_asymptotic_path_equals_scipy(
    rng: np.random.Generator, n_ref: int, n_cur: int, decimals: int
) -> None:
    a = np.sort(rng.normal(size=n_ref).round(decimals))
    b = np.sort(rng.normal(0.02, size=n_cur).round(decimals))
    ours, theirs = stats.ks_two_sample(a, b), sps.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-9)


@pytest.mark.parametrize("d", [0.002, 0.004, 0.006, 0.01, 0.02])
def test_ks_large_sample_p_value_stays_near_scipy(d: float) -> None:
    """Above en = 10,000 the Kolmogorov limit with Stephens' correction replaces scipy's slow exact sum."""
    for en in (20_000, 200_000):
        ours = stats.ks_p_value(d, 2 * en, 2 * en)
        assert ours == pytest.approx(float(sps.kstwo.sf(d, en)), abs=1.5e-3)


@pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")
@given(a=st.one_of(samples, tied), b=st.one_of(samples, tied))
@settings(max_examples=100, deadline=None)
def test_wasserstein_equals_scipy(a: np.ndarray, b: np.ndarray) -> None:
    expected = sps.wasserstein_distance(a, b)
    assert stats.wasserstein(np.sort(a), np.sort(b)) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_normalised_wasserstein_scales_by_reference_std(rng: np.random.Generator) -> None:
    a = np.sort(rng.normal(0, 3, 5000))
    b = np.sort(a + 1.5)
    assert stats.normalised_wasserstein(a, b, float(a.std())) == pytest.approx(1.5 / a.std(), rel=1e-9)


def test_normalised_wasserstein_of_constant_reference_is_relative_to_its_value() -> None:
    constant = np.full(10, 200.0)
    assert stats.normalised_wasserstein(constant, np.full(10, 220.0), 0.0) == pytest.approx(0.1)
    assert stats.normalised_wasserstein(np.zeros(5), np.full(5, 0.5), 0.0) == pytest.approx(0.5)


@given(r=counts, c=counts)
@settings(max_examples=100, deadline=None)
def test_chi_square_equals_scipy_contingency(r: np.ndarray, c: np.ndarray) -> None:
    result = stats.chi_square(r, c)
    table = np.vstack([r, c])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or r.sum() == 0 or c.sum() == 0:
        return
    expected = sps.chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, abs=1e-9)
    assert result.effect_size == pytest.approx(math.sqrt(expected.statistic / table.sum()), abs=1e-12)
    assert 0.0 <= result.effect_size <= 1.0 + 1e-12


@given(r=counts, c=counts)
@settings(max_examples=100, deadline=None)
def test_jensen_shannon_equals_scipy_base_2(r: np.ndarray, c: np.ndarray) -> None:
    value = stats.jensen_shannon(r, c)
    if r.sum() == 0 or c.sum() == 0:
        assert math.isnan(value)
        return
    assert value == pytest.approx(distance.jensenshannon(r / r.sum(), c / c.sum(), base=2), abs=1e-9)
    assert 0.0 <= value <= 1.0


@given(r=counts, c=counts)
@settings(max_examples=100, deadline=None)
def test_hellinger_is_a_bounded_symmetric_distance(r: np.ndarray, c: np.ndarray) -> None:
    if r.sum() == 0 or c.sum() == 0:
        return
    value = stats.hellinger(r, c)
    assert 0.0 <= value <= 1.0 + 1e-12
    assert value == pytest.approx(stats.hellinger(c, r), abs=1e-12)
    assert stats.hellinger(r, r) == pytest.approx(0.0, abs=1e-7)


def test_hellinger_of_disjoint_distributions_is_one() -> None:
    assert stats.hellinger(np.array([5, 0]), np.array([0, 7])) == pytest.approx(1.0)


def test_psi_matches_its_formula_and_bounds_empty_bins() -> None:
    r, c = np.array([50, 30, 20]), np.array([40, 30, 30])
    expected = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.3 - 0.2) * math.log(0.3 / 0.2)
    assert stats.psi(r, c) == pytest.approx(expected, rel=1e-12)
    # An empty current bin is floored at 1e-4 instead of producing infinity (or 135 with a 1e-308 epsilon).
    empty_bin = stats.psi(np.array([10, 10, 80]), np.array([0, 20, 80]))
    assert empty_bin == pytest.approx(
        (0.1 - 1e-4) * math.log(0.1 / 1e-4) + 0.1 * math.log(0.2 / 0.1), rel=1e-9
    )


@pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")
@given(a=st.one_of(samples, tied), b=st.one_of(samples, tied))
@settings(max_examples=100, deadline=None)
def test_identical_samples_show_no_drift(a: np.ndarray, b: np.ndarray) -> None:
    s = np.sort(a)
    assert stats.ks_statistic(s, s) == 0.0
    assert stats.wasserstein(s, s) == pytest.approx(0.0, abs=1e-9)
    assert 0.0 <= stats.ks_statistic(s, np.sort(b)) <= 1.0


def test_two_proportion_p_value() -> None:
    assert stats.two_proportion_p_value(0, 100, 0, 100) == 1.0
    assert stats.two_proportion_p_value(0, 1000, 300, 1000) < 1e-10
    assert stats.two_proportion_p_value(5, 0, 5, 10) == 1.0
