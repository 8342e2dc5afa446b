"""Profiles: what they keep, the quantile sketch's accuracy, and the file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from scipy import stats as sps

from mlpy.drift import DriftProfile, check
from mlpy.drift.errors import ProfileFormatError, SchemaMismatchError
from mlpy.drift.profile import CategoricalProfile, NumericProfile, quantile_sketch


def test_profile_round_trips_through_its_file(tmp_path: Path, reference_frame: pd.DataFrame) -> None:
    profile = DriftProfile.from_data(reference_frame, source="ref.csv")
    path = profile.save(tmp_path / "ref-profile")
    assert path == str(tmp_path / "ref-profile.npz")
    loaded = DriftProfile.load(path)
    assert loaded.rows == profile.rows
    assert loaded.source == "ref.csv"
    assert list(loaded.columns) == list(profile.columns)
    for name, column in profile.columns.items():
        other = loaded.columns[name]
        assert type(other) is type(column)
        if isinstance(column, NumericProfile):
            assert isinstance(other, NumericProfile)
            np.testing.assert_array_equal(other.sketch, column.sketch)
            np.testing.assert_array_equal(other.edges, column.edges)
            np.testing.assert_array_equal(other.counts, column.counts)
            assert (other.mean, other.std, other.discrete) == (column.mean, column.std, column.discrete)
        else:
            assert isinstance(other, CategoricalProfile)
            assert other.categories == column.categories
            np.testing.assert_array_equal(other.counts, column.counts)


def test_checking_against_a_loaded_profile_equals_checking_against_the_data(
    tmp_path: Path, reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    loaded = DriftProfile.load(DriftProfile.from_data(reference_frame).save(tmp_path / "p.npz"))
    direct = check(reference_frame, drifted_frame).to_dict()
    stored = check(loaded, drifted_frame).to_dict()
    assert direct["features"] == stored["features"]


def test_psi_bins_come_from_reference_quantiles(reference_frame: pd.DataFrame) -> None:
    profile = DriftProfile.from_data(reference_frame)
    age = profile.columns["age"]
    assert isinstance(age, NumericProfile)
    assert not age.discrete
    expected = np.quantile(reference_frame["age"].to_numpy(), np.linspace(0, 1, 11)[1:-1])
    np.testing.assert_allclose(age.edges, expected)
    # Each reference decile holds a tenth of the rows.
    np.testing.assert_allclose(age.counts / age.counts.sum(), 0.1, atol=0.001)


def test_few_valued_numeric_column_is_discrete(reference_frame: pd.DataFrame) -> None:
    flag = DriftProfile.from_data(reference_frame).columns["flag"]
    assert isinstance(flag, NumericProfile)
    assert flag.discrete
    np.testing.assert_array_equal(flag.edges, [0.0, 1.0])
    assert flag.counts.sum() == len(reference_frame)


def test_quantile_sketch_keeps_ks_within_one_over_its_size(rng: np.random.Generator) -> None:
    full = np.sort(rng.standard_t(3, size=200_000))
    current = np.sort(rng.standard_t(3, size=50_000) + 0.01)
    sketch = quantile_sketch(full, 2_000)
    assert len(sketch) == 2_000
    exact_d = sps.ks_2samp(full, current).statistic
    from mlpy.drift.stats import ks_statistic

    assert abs(ks_statistic(sketch, current) - exact_d) <= 1 / 2_000


def test_large_reference_is_sketched_and_says_so(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"x": rng.normal(size=5_000)})
    profile = DriftProfile.from_data(frame, max_sample=500)
    x = profile.columns["x"]
    assert isinstance(x, NumericProfile)
    assert len(x.sketch) == 500
    assert not x.exact
    feature = check(profile, pd.DataFrame({"x": rng.normal(size=3_000)})).features["x"]
    assert feature.reference_sample == 500
    assert feature.reference_count == 5_000


def test_high_cardinality_categories_are_capped() -> None:
    frame = pd.DataFrame({"id": [f"user{i % 50}" for i in range(1000)]})
    profile = DriftProfile.from_data(frame, max_categories=10)
    column = profile.columns["id"]
    assert isinstance(column, CategoricalProfile)
    assert len(column.categories) == 10
    assert column.other == 800


def test_not_a_profile_is_rejected(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ProfileFormatError, match="not a drift profile"):
        DriftProfile.load(junk)
    with pytest.raises(ProfileFormatError, match="no such profile"):
        DriftProfile.load(tmp_path / "missing.npz")


def test_other_format_version_is_rejected(tmp_path: Path) -> None:
    header = {"format": "mlpy-drift-profile", "format_version": 99, "columns": []}
    path = tmp_path / "future.npz"
    np.savez(path, header=np.frombuffer(orjson.dumps(header), dtype=np.uint8))
    with pytest.raises(ProfileFormatError, match="format version 99"):
        DriftProfile.load(path)


def test_reference_column_without_values_is_rejected() -> None:
    with pytest.raises(SchemaMismatchError, match="no values at all"):
        DriftProfile.from_data({"empty": [None, None]})


def test_all_nan_numeric_reference_column_profiles_and_round_trips(tmp_path: Path) -> None:
    profile = DriftProfile.from_data({"x": [np.nan, np.nan, np.nan]})
    loaded = DriftProfile.load(profile.save(tmp_path / "nan.npz"))
    x = loaded.columns["x"]
    assert isinstance(x, NumericProfile)
    assert x.count == 0
    assert x.nulls == 3
