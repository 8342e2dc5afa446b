"""Checking windows: verdicts, edge cases (nulls, infinities, constants, unseen categories, empty windows)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from mlpy.drift import DriftProfile, check
from mlpy.drift.errors import MethodError, SchemaMismatchError


def test_drifted_columns_are_found_and_unchanged_ones_are_not(
    reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    report = check(reference_frame, drifted_frame)
    features = report.features
    assert features["age"].distribution_drifted
    assert features["age"].method == "ks"
    assert features["city"].drifted
    assert features["city"].method == "chisquare"
    assert features["city"].unseen_share == pytest.approx(0.2, abs=0.03)
    assert features["income"].null_share.drifted
    assert not features["income"].distribution_drifted
    assert features["income"].drifted
    assert not features["flag"].drifted
    assert features["flag"].method == "chisquare"
    assert report.drift_share == pytest.approx(0.75)
    assert report.dataset_drift


def test_json_has_the_documented_shape(reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame) -> None:
    data = check(reference_frame, drifted_frame).to_dict()
    assert isinstance(data["dataset_drift"], bool)
    assert isinstance(data["drift_share"], float)
    for feature in data["features"].values():
        assert feature["kind"] in {"numeric", "categorical"}
        assert {"method", "statistic", "p_value", "threshold", "drifted"} <= feature.keys()
        assert isinstance(feature["drifted"], bool)


def test_statistics_in_the_report_are_scipys(
    reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    report = check(reference_frame, drifted_frame)
    expected = sps.ks_2samp(reference_frame["age"], drifted_frame["age"])
    assert report.features["age"].statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert report.features["age"].p_value == pytest.approx(expected.pvalue, abs=1e-9)
    w = check(reference_frame, drifted_frame, methods={"age": "wasserstein"}).features["age"]
    ref = reference_frame["age"].to_numpy()
    expected_w = sps.wasserstein_distance(ref, drifted_frame["age"]) / ref.std()
    assert w.statistic == pytest.approx(expected_w, rel=1e-9)


def test_same_distribution_false_positive_rate_stays_at_alpha() -> None:
    """Reference and window from one distribution: a column drifts in about alpha (0.05) of the trials.

    Both samples are drawn afresh each trial, as the two-sample tests assume; against one fixed, unlucky
    reference the rate is conditional on it and can be far higher (see docs/drift.md).
    """
    rng = np.random.default_rng(7)
    trials = 300
    flagged = {"x": 0, "c": 0}

    def sample() -> pd.DataFrame:
        return pd.DataFrame(
            {"x": rng.normal(size=400), "c": rng.choice(list("abcd"), 400, p=[0.4, 0.3, 0.2, 0.1])}
        )

    for _ in range(trials):
        for name, feature in check(DriftProfile.from_data(sample()), sample()).features.items():
            flagged[name] += feature.drifted
    # Binomial(300, 0.05): mean 15, sd 3.8; 30 is four sd above it.
    assert flagged["x"] <= 30
    assert flagged["c"] <= 30
    assert flagged["x"] + flagged["c"] >= 5  # the tests do fire at their rate: alpha is not silently zero


def test_effect_guard_ignores_trivial_differences_at_large_n() -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(size=200_000)})
    trivial = pd.DataFrame({"x": rng.normal(0.03, 1, size=200_000)})
    feature = check(reference, trivial).features["x"]
    assert feature.p_value is not None
    assert feature.p_value < 0.05
    assert not feature.drifted  # ...but D is below the 0.05 minimum effect
    unguarded = check(reference, trivial, min_effects={"x": 0.0}).features["x"]
    assert unguarded.drifted


def test_methods_and_thresholds_per_column(
    reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    report = check(
        reference_frame,
        drifted_frame,
        methods={"age": "psi", "city": "js", "income": "hellinger"},
        thresholds={"age": 5.0, "*": 0.2},
    )
    assert report.features["age"].method == "psi"
    assert report.features["age"].threshold == 5.0
    assert not report.features["age"].distribution_drifted
    assert report.features["city"].method == "jensenshannon"
    assert report.features["city"].threshold == 0.2
    assert report.features["flag"].threshold == 0.2


def test_bad_methods_and_options_are_rejected(reference_frame: pd.DataFrame) -> None:
    with pytest.raises(MethodError, match="unknown drift method"):
        check(reference_frame, reference_frame, methods={"age": "magic"})
    with pytest.raises(MethodError, match="needs numbers"):
        check(reference_frame, reference_frame, methods={"city": "wasserstein"})
    with pytest.raises(MethodError, match="not a checked column"):
        check(reference_frame, reference_frame, thresholds={"nope": 0.1})
    with pytest.raises(MethodError, match="out of range"):
        check(reference_frame, reference_frame, thresholds={"age": 1.5})
    with pytest.raises(MethodError, match="drift share"):
        check(reference_frame, reference_frame, drift_share=0)
    with pytest.raises(MethodError, match="correction"):
        check(reference_frame, reference_frame, correction="sidak")


def test_bonferroni_and_bh_adjust_test_p_values(rng: np.random.Generator) -> None:
    n = 300
    reference = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(5)})
    current = pd.DataFrame({f"x{i}": rng.normal(0.1 * i, 1, size=n) for i in range(5)})
    raw = check(reference, current)
    p = np.array([raw.features[f"x{i}"].p_value for i in range(5)])
    bonferroni = check(reference, current, correction="bonferroni")
    bh = check(reference, current, correction="bh")
    for i in range(5):
        assert bonferroni.features[f"x{i}"].p_value_adjusted == pytest.approx(min(p[i] * 5, 1.0))
        assert bh.features[f"x{i}"].p_value_adjusted == pytest.approx(sps.false_discovery_control(p)[i])
        assert bonferroni.features[f"x{i}"].p_value == raw.features[f"x{i}"].p_value


def test_drift_share_threshold_decides_the_dataset(
    reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    assert not check(reference_frame, drifted_frame, drift_share=0.8).dataset_drift
    assert check(reference_frame, drifted_frame, drift_share=0.75).dataset_drift
    assert not check(reference_frame, reference_frame).dataset_drift


def test_missing_values_and_infinities_are_counted_not_compared() -> None:
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 50})
    current = pd.DataFrame({"x": [1.0, np.nan, np.inf, -np.inf] * 50})
    feature = check(reference, current).features["x"]
    assert feature.null_share.current == pytest.approx(0.25)
    assert feature.null_share.drifted
    assert feature.inf_share is not None
    assert feature.inf_share.current == pytest.approx(0.5)
    assert feature.current_count == 50
    assert feature.statistic is not None
    assert math.isfinite(feature.statistic)


def test_constant_columns() -> None:
    reference = pd.DataFrame({"k": [3.0] * 100, "s": ["a"] * 100})
    same = check(reference, reference).features
    assert not same["k"].drifted
    assert not same["s"].drifted
    changed = check(reference, pd.DataFrame({"k": [4.0] * 100, "s": ["b"] * 100})).features
    assert changed["k"].drifted
    assert changed["s"].drifted
    w = check(reference, pd.DataFrame({"k": [3.3] * 100, "s": ["a"] * 100}), methods={"k": "wasserstein"})
    assert w.features["k"].statistic == pytest.approx(0.1)


def test_empty_window_is_reported_not_crashed(reference_frame: pd.DataFrame) -> None:
    report = check(reference_frame, reference_frame.iloc[0:0])
    assert report.current_rows == 0
    assert not report.dataset_drift
    for feature in report.features.values():
        assert feature.statistic is None
        assert not feature.drifted
        assert feature.note
    assert report.to_dict()["features"]["age"]["statistic"] is None


def test_all_null_current_column_drifts_on_null_share(reference_frame: pd.DataFrame) -> None:
    current = reference_frame.copy()
    current["age"] = np.nan
    current["city"] = None
    features = check(reference_frame, current).features
    for name in ("age", "city"):
        assert features[name].drifted
        assert features[name].null_share.current == 1.0
        assert features[name].statistic is None


def test_null_typed_current_column_is_all_null(reference_frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(reference_frame, preserve_index=False)
    table = table.set_column(0, "age", pa.nulls(len(reference_frame)))
    assert check(reference_frame, table).features["age"].null_share.current == 1.0


def test_unseen_categories_are_measured(reference_frame: pd.DataFrame) -> None:
    current = reference_frame.copy()
    current.loc[: len(current) // 2, "city"] = "berlin"
    feature = check(reference_frame, current).features["city"]
    assert feature.unseen_share == pytest.approx(0.5, abs=0.01)
    assert feature.drifted


def test_type_and_column_mismatches_are_rejected(reference_frame: pd.DataFrame) -> None:
    wrong_type = reference_frame.assign(age=["x"] * len(reference_frame))
    with pytest.raises(SchemaMismatchError, match="numbers in the reference"):
        check(reference_frame, wrong_type)
    with pytest.raises(SchemaMismatchError, match="lacks column"):
        check(reference_frame, reference_frame.drop(columns=["city"]))
    with pytest.raises(SchemaMismatchError, match="reference lacks column"):
        check(reference_frame, reference_frame, features=["nope"])


def test_numbers_in_a_categorical_column_are_compared_as_labels() -> None:
    reference = pd.DataFrame({"zip": ["75001", "69001"] * 50})
    current = pd.DataFrame({"zip": [75001, 69001] * 50})
    assert not check(reference, current).features["zip"].drifted


column_values = st.lists(
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64)), min_size=0, max_size=40
)
label_values = st.lists(
    st.one_of(st.none(), st.sampled_from(["a", "b", "c", "new"])), min_size=0, max_size=40
)


@given(ref=column_values, cur=column_values, ref_labels=label_values, cur_labels=label_values)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_mix_of_edge_values_gives_a_well_formed_report(
    ref: list[float | None],
    cur: list[float | None],
    ref_labels: list[str | None],
    cur_labels: list[str | None],
) -> None:
    reference = {"x": pa.array(ref, type=pa.float64()), "c": pa.array(ref_labels, type=pa.string())}
    current = {"x": pa.array(cur, type=pa.float64()), "c": pa.array(cur_labels, type=pa.string())}
    if not ref or not ref_labels or len(ref) != len(ref_labels) or len(cur) != len(cur_labels):
        reference = {"x": reference["x"]}
        current = {"x": current["x"]}
    for method in ("ks", "wasserstein", "psi", "jensenshannon", "hellinger", "chisquare"):
        report = check(reference, current, methods={"x": method})
        data = report.to_dict()
        assert 0.0 <= data["drift_share"] <= 1.0
        for feature in data["features"].values():
            statistic = feature["statistic"]
            assert statistic is None or (math.isfinite(statistic) and statistic >= 0)
            assert feature["p_value"] is None or 0.0 <= feature["p_value"] <= 1.0
