"""Prediction drift: the model's outputs are one more column, judged like the inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlpy.cli.main import main
from mlpy.drift import PREDICTION, DriftProfile, check, with_predictions
from mlpy.drift.errors import SchemaMismatchError
from mlpy.registry import ModelRegistry


def _inputs(rng: np.random.Generator, n: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    moved = shift or {}
    return pd.DataFrame({name: rng.normal(moved.get(name, 0.0), 1, n) for name in ("big", "small")})


def _target(x: pd.DataFrame) -> pd.Series:
    return 3 * x["big"] + 0.1 * x["small"]


@pytest.fixture
def regressor() -> LinearRegression:
    x = _inputs(np.random.default_rng(0), 1_000)
    return LinearRegression().fit(x, _target(x))


def test_shifting_the_important_input_flags_prediction_drift(regressor: LinearRegression) -> None:
    rng = np.random.default_rng(1)
    profile = DriftProfile.from_data(with_predictions(_inputs(rng, 10_000), regressor))
    assert profile.columns[PREDICTION].kind.value == "numeric"
    shifted = check(profile, _inputs(rng, 5_000, {"big": 0.4}), model=regressor)
    assert shifted.features[PREDICTION].drifted
    assert shifted.features[PREDICTION].method == "ks"
    calm = check(profile, _inputs(rng, 5_000), model=regressor)
    assert not calm.features[PREDICTION].drifted
    # The unimportant input moves as much, the outputs hardly: drift in an input, not in the predictions.
    quiet = check(profile, _inputs(rng, 5_000, {"small": 0.4}), model=regressor)
    assert quiet.features["small"].drifted
    assert not quiet.features[PREDICTION].drifted


def test_class_labels_are_judged_on_their_frequencies() -> None:
    rng = np.random.default_rng(2)
    x = _inputs(rng, 2_000)
    labels = np.where(x["big"] > 0, "yes", "no")
    model = LogisticRegression().fit(x, labels)
    profile = DriftProfile.from_data(with_predictions(x, model))
    assert profile.columns[PREDICTION].kind.value == "categorical"
    feature = check(profile, _inputs(rng, 2_000, {"big": 0.5}), model=model).features[PREDICTION]
    assert feature.method == "chisquare"
    assert feature.drifted


def test_logged_predictions_are_used_as_they_are(regressor: LinearRegression) -> None:
    rng = np.random.default_rng(3)
    profile = DriftProfile.from_data(with_predictions(_inputs(rng, 5_000), regressor))
    window = with_predictions(_inputs(rng, 2_000), regressor).to_pandas()
    window[PREDICTION] = window[PREDICTION] + 2.0  # what the log recorded, not what the model says now
    assert check(profile, window, model=regressor).features[PREDICTION].drifted
    assert check(profile, window).features[PREDICTION].drifted  # the column alone is enough


def test_raw_reference_data_and_files_get_predictions(regressor: LinearRegression, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    _inputs(rng, 3_000).to_parquet(tmp_path / "ref.parquet")
    _inputs(rng, 3_000, {"big": 0.5}).to_parquet(tmp_path / "cur.parquet")
    report = check(tmp_path / "ref.parquet", tmp_path / "cur.parquet", model=regressor, features=["small"])
    assert list(report.features) == ["small", PREDICTION]
    assert report.features[PREDICTION].drifted
    assert report.current_source == str(tmp_path / "cur.parquet")


def test_what_cannot_be_predicted_is_refused(regressor: LinearRegression) -> None:
    rng = np.random.default_rng(5)
    plain = DriftProfile.from_data(_inputs(rng, 500))
    with pytest.raises(SchemaMismatchError, match="no reference predictions"):
        check(plain, _inputs(rng, 500), model=regressor)
    with pytest.raises(SchemaMismatchError, match="needs column"):
        with_predictions(pd.DataFrame({"big": [1.0, 2.0]}), regressor)
    with pytest.raises(SchemaMismatchError, match="cannot predict"):
        with_predictions(pd.DataFrame({"big": ["a", "b"], "small": [1.0, 2.0]}), regressor)


def test_cli_model_option_weighs_by_importance_and_checks_outputs(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    regressor: LinearRegression,
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLPY_STORE", store)
    monkeypatch.setenv("MLPY_ARTIFACTS", str(tmp_path / "artifacts"))
    rng = np.random.default_rng(6)
    validation = _inputs(rng, 1_000)
    ModelRegistry().register("house", regressor, validation=(validation, _target(validation)))
    _inputs(rng, 5_000).to_parquet(tmp_path / "ref.parquet")
    _inputs(rng, 5_000, {"big": 0.4}).to_parquet(tmp_path / "cur.parquet")
    profile = tmp_path / "house.npz"
    assert (
        main(
            [
                "drift",
                "profile",
                "-r",
                str(tmp_path / "ref.parquet"),
                "--out",
                str(profile),
                "--model",
                "house:1",
            ]
        )
        == 0
    )
    assert "profiled 3 columns" in capsys.readouterr().out  # big, small and prediction
    base = ["drift", "check", "-p", str(profile), "-c", str(tmp_path / "cur.parquet"), "--no-store"]
    assert main([*base, "--model", "house:1", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["features"][PREDICTION]["drifted"] is True
    assert data["ranking"][0] == "big"
    assert data["importance_weighted_drift"] > 0.1
    assert main([*base, "--model", "house:1"]) == 0
    assert "importance-weighted drift" in capsys.readouterr().out
    assert main([*base, "-o", "json"]) == 1
    assert "give the model (--model)" in capsys.readouterr().err
    assert main([*base, "-o", "json", "--features", "big,small"]) == 0
    assert json.loads(capsys.readouterr().out)["importance_weighted_drift"] is None
    assert main([*base, "--model", "nohouse:1"]) == 1
    assert "nohouse" in capsys.readouterr().err
