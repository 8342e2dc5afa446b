"""The shape test beside KS: changes that keep mean and variance are flagged, resampling is not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from mlpy.cli.main import main
from mlpy.drift import DriftProfile, check
from mlpy.drift.shape import DISTANCE_MAX, ad_distance, largest_tie_share, shape_test

Sample = Callable[[np.random.Generator, int], np.ndarray]


def bimodal(rng: np.random.Generator, n: int, half_gap: float = 0.77) -> np.ndarray:
    """Two normals at ±half_gap with sd √(1 - half_gap²): mean 0 and variance 1, like N(0, 1)."""
    spread = np.sqrt(1.0 - half_gap**2)
    return rng.normal(0.0, spread, n) + np.where(rng.random(n) < 0.5, -half_gap, half_gap)


@pytest.mark.filterwarnings("ignore:p-value:UserWarning")
@pytest.mark.parametrize("ties", [False, True])
def test_statistic_is_scipys_anderson_darling(rng: np.random.Generator, ties: bool) -> None:
    """scipy reports (A² - 1) / sd(A²) for fixed sizes: two windows pin the sd down, the third checks."""
    sizes = (300, 500)
    if ties:
        draw = [np.sort(rng.integers(0, 20, size).astype(np.float64)) for size in (*sizes, 500, 500)]
    else:
        draw = [
            np.sort(rng.normal(scale, 1.0, size))
            for scale, size in zip((0, 0.3, 0, 0.1), (*sizes, 500, 500), strict=True)
        ]
    reference, windows = draw[0], draw[1:]
    factor = sizes[0] * sizes[1] / sum(sizes)
    ours = [ad_distance(reference, window) * factor for window in windows]
    theirs = [sps.anderson_ksamp([reference, window], variant="right").statistic for window in windows]
    sigma = (ours[0] - ours[1]) / (theirs[0] - theirs[1])
    assert sigma > 0
    assert ours[2] - 1.0 == pytest.approx(theirs[2] * sigma, rel=1e-9)


@pytest.mark.parametrize("n", [5_000, 100_000])
def test_unimodal_to_bimodal_with_equal_mean_and_variance_is_flagged(n: int) -> None:
    rng = np.random.default_rng(n)
    reference = pd.DataFrame({"x": rng.normal(size=n)})
    current = pd.DataFrame({"x": bimodal(rng, n)})
    feature = check(reference, current).features["x"]
    assert feature.statistic is not None
    assert feature.statistic < 0.05  # KS's D: below its own guard
    assert not check(reference, current, shape_min_effect=None).features["x"].drifted
    assert feature.shape is not None
    assert feature.shape.drifted
    assert feature.shape.effect_size >= 0.05
    assert feature.drifted
    assert feature.method == "ks"


def test_heavier_tails_with_the_same_variance_are_flagged() -> None:
    rng = np.random.default_rng(5)
    n = 100_000
    reference = pd.DataFrame({"x": rng.normal(size=n)})
    current = pd.DataFrame({"x": rng.standard_t(5, n) * np.sqrt(3 / 5)})  # t(5) has variance 5/3
    feature = check(reference, current).features["x"]
    assert feature.statistic is not None
    assert feature.statistic < 0.05
    assert feature.shape is not None
    assert feature.shape.drifted
    assert feature.drifted


def test_resampling_the_same_distribution_is_not_flagged_by_the_shape_test() -> None:
    """Over 100 pairs at 2,000 rows, and 5 at 200,000 against one profile, the shape test stays quiet."""
    rng = np.random.default_rng(11)
    small = [
        check(pd.DataFrame({"x": rng.standard_t(6, 2_000)}), pd.DataFrame({"x": rng.standard_t(6, 2_000)}))
        for _ in range(100)
    ]
    flagged = sum(bool(report.features["x"].shape and report.features["x"].shape.drifted) for report in small)
    # At most alpha (5 of 100) plus three binomial sd: the standardised test is conservative.
    assert flagged <= 11
    profile = DriftProfile.from_data(pd.DataFrame({"x": rng.lognormal(0, 0.5, 200_000)}))
    for _ in range(5):
        feature = check(profile, pd.DataFrame({"x": rng.lognormal(0, 0.5, 200_000)})).features["x"]
        assert feature.shape is not None
        assert not feature.shape.drifted
        assert feature.shape.effect_size < 0.02


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        (lambda rng, n: rng.normal(100, 10, n), lambda rng, n: rng.normal(100.2, 10, n)),
        (lambda rng, n: rng.exponential(1.0, n), lambda rng, n: rng.exponential(1.02, n)),
        (lambda rng, n: rng.normal(0, 1, n), lambda rng, n: rng.normal(0.25, 1.5, n)),
    ],
    ids=["mean+0.02sd", "scale-x1.02", "location-and-scale"],
)
def test_location_and_scale_are_left_to_ks(reference: Sample, current: Sample) -> None:
    """Standardising removes location and scale: the shape effect of such changes is noise."""
    rng = np.random.default_rng(2)
    n = 200_000
    feature = check(pd.DataFrame({"x": reference(rng, n)}), pd.DataFrame({"x": current(rng, n)})).features[
        "x"
    ]
    assert feature.shape is not None
    assert feature.shape.effect_size < 0.02
    assert not feature.shape.drifted


def test_sketched_reference_gives_the_full_samples_effect(rng: np.random.Generator) -> None:
    full = rng.normal(size=300_000)
    window = bimodal(rng, 300_000)
    sketched = DriftProfile.from_data(pd.DataFrame({"x": full}), max_sample=20_000)
    exact = DriftProfile.from_data(pd.DataFrame({"x": full}), max_sample=300_000)
    a = check(sketched, pd.DataFrame({"x": window})).features["x"].shape
    b = check(exact, pd.DataFrame({"x": window})).features["x"].shape
    assert a is not None
    assert b is not None
    assert a.effect_size == pytest.approx(b.effect_size, abs=2e-3)
    assert a.statistic == pytest.approx(b.statistic, rel=0.05)


def test_constant_or_empty_sides_have_no_shape_test() -> None:
    values = np.sort(np.random.default_rng(0).normal(size=100))
    assert shape_test(values, np.full(50, 3.0), reference_mean=0.0, reference_std=1.0) is None
    assert shape_test(values, values, reference_mean=0.0, reference_std=0.0) is None
    report = check(pd.DataFrame({"x": np.ones(500)}), pd.DataFrame({"x": np.ones(500)}))
    assert report.features["x"].shape is None


def test_json_and_corrections_carry_the_shape_test(rng: np.random.Generator) -> None:
    reference = pd.DataFrame({f"x{i}": rng.normal(size=3_000) for i in range(3)})
    current = pd.DataFrame(
        {"x0": bimodal(rng, 3_000), "x1": rng.normal(size=3_000), "x2": rng.normal(size=3_000)}
    )
    raw = check(reference, current)
    shapes = [raw.features[f"x{i}"].shape for i in range(3)]
    assert all(shape is not None for shape in shapes)
    p = np.array([shape.p_value for shape in shapes if shape is not None])
    corrected = check(reference, current, correction="bonferroni")
    for i in range(3):
        shape = corrected.features[f"x{i}"].shape
        assert shape is not None
        assert shape.p_value_adjusted == pytest.approx(min(p[i] * 3, 1.0))
    assert "shape (Anderson-Darling, standardised)" in raw.to_html()
    data = raw.to_dict()["features"]["x0"]["shape"]
    assert data["method"] == "anderson"
    assert data["drifted"] is True
    assert {"statistic", "p_value", "effect_size", "min_effect", "threshold"} <= data.keys()


def test_columns_with_repeated_values_are_left_to_ks() -> None:
    """Counts and integers: standardising would move one side's repeated values off the other's."""
    rng = np.random.default_rng(4)
    n = 50_000
    reference = pd.DataFrame({"count": rng.poisson(3, n), "age": rng.integers(18, 90, n)})
    current = pd.DataFrame({"count": rng.poisson(3, n), "age": rng.integers(18, 90, n)})
    report = check(reference, current)
    for name in ("count", "age"):
        assert report.features[name].method == "ks"
        assert report.features[name].shape is None
        assert not report.features[name].drifted
    assert largest_tie_share(np.sort(reference["count"].to_numpy(dtype=np.float64))) > 0.1
    assert largest_tie_share(np.arange(10.0)) == pytest.approx(0.1)


def test_cli_runs_the_shape_test_unless_told_not_to(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPY_HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(8)
    pd.DataFrame({"x": rng.normal(size=20_000)}).to_parquet(tmp_path / "ref.parquet")
    pd.DataFrame({"x": bimodal(rng, 20_000)}).to_parquet(tmp_path / "cur.parquet")
    base = ["drift", "check", "-r", str(tmp_path / "ref.parquet"), "-c", str(tmp_path / "cur.parquet")]
    assert main([*base, "-o", "json", "--no-store"]) == 0
    feature = json.loads(capsys.readouterr().out)["features"]["x"]
    assert feature["drifted"] is True
    assert feature["shape"]["drifted"] is True
    assert main([*base, "-o", "json", "--no-store", "--no-shape"]) == 0
    feature = json.loads(capsys.readouterr().out)["features"]["x"]
    assert feature["drifted"] is False
    assert "shape" not in feature
    assert main([*base, "--no-store", "--shape-min-effect", "0.5"]) == 0
    assert "no dataset drift" in capsys.readouterr().out
    assert main([*base, "--no-store"]) == 0
    assert "ks (shape)" in capsys.readouterr().out
    assert main([*base, "--no-store", "--shape-min-effect", "2"]) == 2
    assert "--shape-min-effect" in capsys.readouterr().err
    assert main(["drift", "methods", "-o", "json"]) == 0
    methods = {item["method"]: item for item in json.loads(capsys.readouterr().out)["items"]}
    assert methods["ks"]["shape_test"] == {
        "method": "anderson",
        "min_effect": 0.05,
    }


def test_a_sketched_window_gives_the_full_windows_effect(rng: np.random.Generator) -> None:
    reference = np.sort(rng.normal(size=50_000))
    window = np.sort(bimodal(rng, 400_000))
    result = shape_test(
        reference, window, reference_mean=float(reference.mean()), reference_std=float(reference.std())
    )
    assert result is not None
    standardised = [(side - side.mean()) / side.std() for side in (reference, window)]
    full = ad_distance(*standardised)
    assert result.effect_size == pytest.approx(np.sqrt(full / DISTANCE_MAX), abs=1e-3)
    assert result.statistic == pytest.approx(full * 50_000 * 400_000 / 450_000, rel=0.02)
