"""Compiled inference is used only when it agrees with scikit-learn, and says why when it is not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlpy.compiled.compiling as compiling_module
import mlpy.compiled.onnx as onnx_module
import mlpy.compiled.trees as trees_module
from mlpy.compiled import TOLERANCE, CompileRefusedError, compile_model
from mlpy.registry import text_categories

NAMES = ["a", "b", "c"]


def forest(labels: Any = None) -> RandomForestClassifier:
    rng = np.random.default_rng(3)
    # Features on very different scales: probes around the learnt thresholds still cross every split.
    x = rng.normal(size=(600, 3)) * [1.0, 50.0, 2000.0]
    y = (x[:, 0] + x[:, 2] / 2000 > 0).astype(int) if labels is None else labels(x)
    return RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0).fit(x, y)


def test_a_forest_compiles_and_answers_exactly_as_scikit_learn() -> None:
    model = forest()
    compiled = compile_model(model, NAMES, ["number"] * 3, by_name=False)
    rows = np.random.default_rng(9).normal(size=(200, 3)) * [1.0, 50.0, 2000.0]
    assert np.array_equal(compiled.predict(rows), model.predict(rows))
    assert np.allclose(compiled.predict_proba(rows), model.predict_proba(rows), atol=TOLERANCE)
    described = compiled.describe()
    assert described["verified_rows"] == 512
    assert described["max_difference"] <= TOLERANCE
    assert "onnxruntime" in described["runtime"]
    assert "skl2onnx" in described["runtime"]


def test_a_regressor_agrees_within_the_tolerance_relative_to_its_values() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 3))
    model = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(x, 1000 * x[:, 1])
    compiled = compile_model(model, NAMES, ["number"] * 3, by_name=False)
    got, want = compiled.predict(x[:50]), model.predict(x[:50])
    assert got.dtype == np.float64
    assert np.allclose(got, want, rtol=TOLERANCE, atol=TOLERANCE)


def test_a_pipeline_with_text_columns_takes_one_input_per_column() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=500), "region": rng.choice(["north", "south", "east"], 500)})
    y = (frame["a"] > 0) & (frame["region"] != "east")
    model = make_pipeline(
        make_column_transformer(("passthrough", ["a"]), (OneHotEncoder(handle_unknown="ignore"), ["region"])),
        RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0),
    ).fit(frame, y)
    categories = text_categories(model)
    assert categories == {"region": ["east", "north", "south"]}
    compiled = compile_model(
        model, ["a", "region"], ["number", "string"], by_name=True, categories=categories
    )
    assert compiled.text_inputs == {"region"}
    assert np.array_equal(compiled.predict(frame), model.predict(frame))
    assert compiled.predict(frame).dtype == model.predict(frame).dtype  # bool labels stay bool


def boosting_pipeline(handle_unknown: str = "ignore") -> tuple[Any, pd.DataFrame]:
    rng = np.random.default_rng(6)
    frame = pd.DataFrame(rng.normal(size=(400, 3)) * [1.0, 30.0, 500.0], columns=NAMES)
    frame["channel"] = rng.choice(["web", "shop", "phone"], 400)
    y = (frame["a"] + frame["c"] / 500 > 0) & (frame["channel"] != "phone")
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), NAMES), (OneHotEncoder(handle_unknown=handle_unknown), ["channel"])
        ),
        HistGradientBoostingClassifier(max_iter=10, random_state=0),
    ).fit(frame, y)
    return model, frame


def test_a_histogram_boosting_pipeline_runs_on_treelite_in_float64_not_onnx_in_float32() -> None:
    """Its float64 ONNX graph does not load in ONNX Runtime, and a float32 one would not be exact:
    treelite keeps scikit-learn's float64 thresholds, behind the preprocessing done in numpy."""
    model, frame = boosting_pipeline()
    names, types = [*NAMES, "channel"], ["number"] * 3 + ["string"]
    compiled = compile_model(model, names, types, by_name=True, categories=text_categories(model))
    described = compiled.describe()
    assert described["engine"] == "treelite"
    assert described["runtime"].startswith("treelite ")
    assert "ONNX Runtime cannot load the converted model" in described["passed_over"]["ONNX Runtime"]
    fresh = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    fresh.loc[:9, "channel"] = "fax"  # a category the encoder never saw: ignored, as scikit-learn does
    # The server hands the matrix in the inputs' order; verification used a DataFrame: both agree.
    for given in (fresh, fresh[names].to_numpy(dtype=object)):
        assert np.array_equal(compiled.predict(given), model.predict(fresh))
        assert np.allclose(compiled.predict_proba(given), model.predict_proba(fresh), rtol=0, atol=TOLERANCE)


def test_an_unknown_category_the_encoder_refuses_is_refused_by_the_compiled_model_too() -> None:
    model, frame = boosting_pipeline(handle_unknown="error")
    names, types = [*NAMES, "channel"], ["number"] * 3 + ["string"]
    compiled = compile_model(model, names, types, by_name=True, categories=text_categories(model))
    row = frame.iloc[:1].assign(channel="fax")
    with pytest.raises(ValueError, match="unknown categor"):
        model.predict(row)
    with pytest.raises(ValueError, match="unknown categor"):
        compiled.predict(row)


def test_a_compiled_model_that_disagrees_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both engines are handed a model that learnt the opposite labels: verification must catch it."""
    model = forest()
    opposite = forest(lambda x: (x[:, 0] + x[:, 2] / 2000 <= 0).astype(int))
    real_convert, real_treelite = onnx_module._convert, trees_module.treelite_engine
    monkeypatch.setattr(onnx_module, "_convert", lambda _model, *args: real_convert(opposite, *args))
    monkeypatch.setattr(trees_module, "treelite_engine", lambda _model, names: real_treelite(opposite, names))
    with pytest.raises(CompileRefusedError) as refused:
        compile_model(model, NAMES, ["number"] * 3, by_name=False)
    message = str(refused.value)
    for engine in ("ONNX Runtime: ", "treelite: "):
        assert (
            f"{engine}the compiled model disagrees with scikit-learn on 512 probe rows: predictions"
            in message
        )


def test_when_onnx_disagrees_treelite_answers_and_the_record_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = forest()
    opposite = forest(lambda x: (x[:, 0] + x[:, 2] / 2000 <= 0).astype(int))
    real_convert = onnx_module._convert
    monkeypatch.setattr(onnx_module, "_convert", lambda _model, *args: real_convert(opposite, *args))
    compiled = compile_model(model, NAMES, ["number"] * 3, by_name=False)
    assert compiled.runtime == "treelite"
    assert "disagrees" in compiled.describe()["passed_over"]["ONNX Runtime"]
    rows = np.random.default_rng(9).normal(size=(100, 3)) * [1.0, 50.0, 2000.0]
    assert np.array_equal(compiled.predict(rows), model.predict(rows))


def test_a_model_the_converter_does_not_know_is_refused_with_the_reason() -> None:
    class Majority(ClassifierMixin, BaseEstimator):
        def fit(self, x: Any, y: Any) -> Majority:
            self.classes_ = np.unique(y)
            return self

        def predict(self, x: Any) -> Any:
            return np.full(len(x), self.classes_[0])

    model = Majority().fit(np.zeros((4, 3)), [0, 1, 0, 1])
    with pytest.raises(CompileRefusedError) as refused:
        compile_model(model, NAMES, ["number"] * 3, by_name=False)
    assert "ONNX Runtime: skl2onnx cannot convert Majority" in str(refused.value)
    assert "treelite: treelite takes scikit-learn's tree ensembles, not Majority" in str(refused.value)


def test_without_the_extra_the_refusal_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiling_module, "runtime_versions", lambda: {})
    with pytest.raises(CompileRefusedError, match=r"pip install 'mlpy\[compiled\]'"):
        compile_model(forest(), NAMES, ["number"] * 3, by_name=False)


def test_probes_cross_the_thresholds_the_trees_split_at() -> None:
    from mlpy.compiled.probes import probe_frame, split_thresholds

    model = forest()
    cuts = split_thresholds(model, 3)
    assert set(cuts) <= {0, 1, 2}
    assert len(cuts[2]) > 5
    probes = probe_frame(model, NAMES, ["number"] * 3, {})
    # Most probes of the wide feature sit just beside one of its thresholds, on both sides.
    nearest = np.min(np.abs(probes["c"][:, None] - cuts[2][None, :]), axis=1)
    assert np.mean(nearest < 0.01 * (1 + np.abs(probes["c"]))) > 0.5
