"""Importance-weighted drift: the same change weighs more on a feature the model relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from mlpy.drift import DriftProfile, check, exposition
from mlpy.drift.errors import MethodError
from mlpy.registry.importance import permutation_importances


def _frame(rng: np.random.Generator, n: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    moved = shift or {}
    return pd.DataFrame({name: rng.normal(moved.get(name, 0.0), 1.0, n) for name in ("big", "mid", "small")})


@pytest.fixture
def importance() -> dict[str, dict[str, float]]:
    """A real model's permutation importance: y leans on big (x3), mid (x1), small (x0.2)."""
    rng = np.random.default_rng(1)
    x = _frame(rng, 2_000)
    y = 3 * x["big"] + x["mid"] + 0.2 * x["small"] + rng.normal(0, 0.1, 2_000)
    model = LinearRegression().fit(x, y)
    return permutation_importances(model, (x, y))


def test_the_same_shift_weighs_more_on_the_important_feature(importance: dict[str, dict[str, float]]) -> None:
    assert importance["big"]["mean"] > importance["mid"]["mean"] > importance["small"]["mean"] > 0
    rng = np.random.default_rng(2)
    profile = DriftProfile.from_data(_frame(rng, 20_000))
    on_big = check(profile, _frame(rng, 20_000, {"big": 0.5}), importance=importance)
    on_small = check(profile, _frame(rng, 20_000, {"small": 0.5}), importance=importance)
    # The shift is the same, and so is each column's own drift score...
    assert on_big.features["big"].drift_score == pytest.approx(
        on_small.features["small"].drift_score, abs=0.03
    )
    assert on_big.drifted_features == ["big"]
    assert on_small.drifted_features == ["small"]
    # ...but weighted by importance, the change to the feature that matters counts far more.
    big_score, small_score = on_big.importance_weighted_drift, on_small.importance_weighted_drift
    assert big_score is not None
    assert small_score is not None
    assert big_score > 10 * small_score
    assert on_big.ranking[0] == "big"
    assert on_big.ranking.index("big") < on_small.ranking.index("small")
    # Without importance, only the drift score orders the columns: each shifted column comes first.
    plain = check(profile, _frame(rng, 20_000, {"small": 0.5}))
    assert plain.importance_weighted_drift is None
    assert plain.ranking[0] == "small"


def test_report_outputs_carry_the_weighted_score(importance: dict[str, dict[str, float]]) -> None:
    rng = np.random.default_rng(3)
    report = check(_frame(rng, 5_000), _frame(rng, 5_000, {"mid": 0.5}), importance=importance)
    data = report.to_dict()
    assert data["importance_weighted_drift"] == pytest.approx(report.importance_weighted_drift)
    assert 0 < data["importance_weighted_drift"] < 1
    assert data["ranking"] == report.ranking
    shares = [data["features"][name]["importance"] for name in ("big", "mid", "small")]
    assert sum(shares) == pytest.approx(1.0)
    assert shares[0] > shares[1] > shares[2]
    assert 0 <= data["features"]["mid"]["drift_score"] <= 1
    assert "mlpy_drift_importance_weighted" in exposition(report, "credit")
    assert "mlpy_drift_importance_weighted{" not in exposition(check(_frame(rng, 500), _frame(rng, 500)))
    html = report.to_html()
    assert "Importance-weighted drift" in html
    assert html.index("<h3>mid</h3>") < html.index("<h3>big</h3>")  # drifted first


def test_drift_scores_share_one_scale_across_methods() -> None:
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"x": rng.normal(size=5_000), "c": rng.choice(list("abc"), 5_000)})
    current = pd.DataFrame({"x": rng.normal(1.0, 1, 5_000), "c": rng.choice(list("abcd"), 5_000)})
    for method in ("ks", "psi", "wasserstein", "jensenshannon", "hellinger", "chisquare"):
        feature = check(reference, current, methods={"x": method}).features["x"]
        assert 0.2 < feature.drift_score <= 1, method
    same = check(reference, reference).features
    assert all(feature.drift_score < 0.05 for feature in same.values())


def test_bad_importance_is_refused() -> None:
    rng = np.random.default_rng(5)
    frame = _frame(rng, 200)
    with pytest.raises(MethodError, match="positive weight"):
        check(frame, frame, importance={"big": 0.0, "other": 1.0})
    with pytest.raises(MethodError, match="not a number"):
        check(frame, frame, importance={"big": "high"})
    assert check(frame, frame, importance={"big": -0.1, "mid": 1.0}).importance == {
        "big": 0.0,
        "mid": 1.0,
        "small": 0.0,
    }
