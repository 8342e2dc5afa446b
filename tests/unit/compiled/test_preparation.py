"""A pipeline's preprocessing in numpy computes what scikit-learn's transformers compute, and refuses
what it does not know."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    PolynomialFeatures,
    StandardScaler,
)

from mlpy.compiled.errors import CompileRefusedError
from mlpy.compiled.preparation import prepare_steps

NAMES = ["a", "b", "c", "city", "plan"]


def frame(rows: int = 300, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        rng.normal(size=(rows, 3)) * [1.0, 40.0, 900.0] + [0, 5, -300], columns=["a", "b", "c"]
    )
    data["city"] = rng.choice(["oslo", "lima", "pune"], rows)
    data["plan"] = rng.choice(["free", "pro"], rows)
    return data


def matrix(data: pd.DataFrame) -> np.ndarray:
    """What the server hands a model that takes named columns: the inputs in order, as objects."""
    return data[NAMES].to_numpy(dtype=object)


TRANSFORMERS: dict[str, list[tuple[str, Any, Any]]] = {
    "scale and one-hot by name": [
        ("numbers", StandardScaler(), ["a", "b", "c"]),
        ("text", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["city", "plan"]),
    ],
    "min-max, passthrough, a dropped group": [
        ("wide", MinMaxScaler(), ["c"]),
        ("kept", "passthrough", ["a"]),
        ("gone", "drop", ["b"]),
        ("text", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
    ],
    "by position, scaler without mean": [
        ("numbers", StandardScaler(with_mean=False), [0, 2]),
        ("text", OneHotEncoder(), [3]),
    ],
}


@pytest.mark.parametrize("case", list(TRANSFORMERS))
def test_the_numpy_form_is_bit_identical_to_the_column_transformer(case: str) -> None:
    transformer = ColumnTransformer(TRANSFORMERS[case], sparse_threshold=0.0).fit(frame())
    fresh = frame(seed=9)
    prepare = prepare_steps([transformer], NAMES)
    assert np.array_equal(prepare(matrix(fresh)), np.asarray(transformer.transform(fresh), dtype=np.float64))


def test_a_scaler_after_the_column_transformer_and_unknown_categories_ignored() -> None:
    train = frame()
    pipeline = make_pipeline(
        ColumnTransformer(
            [("n", "passthrough", ["a", "b"]), ("t", OneHotEncoder(handle_unknown="ignore"), ["city"])]
        ),
        StandardScaler(),
    ).fit(train)
    fresh = frame(seed=4).assign(city=lambda d: np.where(d.index % 3 == 0, "rome", d["city"]))
    prepare = prepare_steps([step for _, step in pipeline.steps], NAMES)
    assert np.array_equal(prepare(matrix(fresh)), pipeline.transform(fresh))


def test_the_remainder_passes_numbers_through_in_its_place() -> None:
    train = frame()[["a", "b", "city"]]
    transformer = ColumnTransformer(
        [("t", OneHotEncoder(), ["city"])], remainder="passthrough", sparse_threshold=0.0
    ).fit(train)
    names = ["a", "b", "city"]
    prepare = prepare_steps([transformer], names)
    fresh = frame(seed=5)[names]
    assert np.array_equal(
        prepare(fresh.to_numpy(dtype=object)), transformer.transform(fresh).astype(np.float64)
    )


def test_an_identity_function_transformer_is_kept() -> None:
    x = np.random.default_rng(1).normal(size=(20, 3))
    prepare = prepare_steps([FunctionTransformer().fit(x), StandardScaler().fit(x)], ["x0", "x1", "x2"])
    assert np.array_equal(prepare(x), StandardScaler().fit(x).transform(x))


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ([PolynomialFeatures()], "the transformer PolynomialFeatures has no verified numpy form"),
        ([MinMaxScaler(clip=True)], r"MinMaxScaler\(clip=True\) is not supported"),
        ([OneHotEncoder(drop="first")], r"OneHotEncoder\(drop=...\) is not supported"),
        ([OneHotEncoder(max_categories=2)], "infrequent categories"),
    ],
    ids=["unknown transformer", "clipping", "dropped category", "infrequent categories"],
)
def test_what_has_no_verified_numpy_form_is_refused_with_its_name(steps: list[Any], reason: str) -> None:
    train = frame()
    names = ["city"] if isinstance(steps[0], OneHotEncoder) else ["a", "b"]
    column_transformer = ColumnTransformer([("only", steps[0], names)]).fit(train)
    with pytest.raises(CompileRefusedError, match=reason):
        prepare_steps([column_transformer], NAMES)


def test_a_column_the_inputs_do_not_have_is_refused() -> None:
    transformer = ColumnTransformer([("n", StandardScaler(), ["a", "b"])]).fit(frame())
    with pytest.raises(CompileRefusedError, match="the column 'b' of the group 'n' is not among the inputs"):
        prepare_steps([transformer], ["a", "c"])
