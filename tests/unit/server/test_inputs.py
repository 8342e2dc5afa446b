"""Request bodies to model input: the happy paths are exact, every bad value is named precisely."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mlpy_server.errors import InvalidInputError, MalformedRequestError, PayloadTooLargeError
from mlpy_server.inputs import parse_object, rows_matrix
from mlpy_server.served import ServedModel


def served(types: tuple[str, ...] = ("number", "number", "number")) -> ServedModel:
    class Echo:
        def predict(self, x: object) -> np.ndarray:
            return np.zeros(len(x))  # type: ignore[arg-type]

    names = ["age", "income", "city"][: len(types)]
    signature = {"inputs": [{"name": n, "type": t} for n, t in zip(names, types, strict=True)]}
    return ServedModel.build(
        name="m", version="1", model=Echo(), source="test", artifact_uri="-", sha256="0" * 64, format="skops",
        signature=signature,
    )  # fmt: skip


def test_rows_of_numbers_become_a_float_matrix() -> None:
    matrix, rows = rows_matrix(served(), [[1, 2.5, True], [4, 5, 6]], "instances", 10)
    assert matrix.dtype == np.float64
    assert matrix.tolist() == [[1.0, 2.5, 1.0], [4.0, 5.0, 6.0]]
    assert rows == [[1, 2.5, True], [4, 5, 6]]


def test_named_features_are_put_in_the_model_order() -> None:
    matrix, _ = rows_matrix(served(), [{"city": 3, "age": 1, "income": 2}], "features", 1, single=True)
    assert matrix.tolist() == [[1.0, 2.0, 3.0]]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"age": 1, "income": 2}], "missing feature 'city' in features"),
        ([{"age": 1, "income": 2, "city": 3, "zip": 4}], "unknown feature 'zip' in features"),
        ([[1, "x", 3]], "non-numeric value 'x' at features[1] (feature 'income')"),
        ([[1, None, 3]], "null at features[1] (feature 'income')"),
        ([[1, 2]], "features has 2 values, expected 3 (age, income, city)"),
        ([[1, [2], 3]], "non-numeric value [2] at features[1]"),
        ([[]], "features has 0 values, expected 3"),
    ],
)
def test_single_row_errors_name_the_field(rows: list[object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        rows_matrix(served(), rows, "features", 1, single=True)


def test_batch_errors_name_the_row_and_column() -> None:
    with pytest.raises(InvalidInputError) as info:
        rows_matrix(served(), [[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, "abc", 3]], "instances", 10)
    assert str(info.value) == "non-numeric value 'abc' at instances[3][1] (feature 'income')"
    assert info.value.field == "instances[3][1]"
    with pytest.raises(InvalidInputError, match=r"instances\[1\] has 4 values, expected 3"):
        rows_matrix(served(), [[1, 2, 3], [1, 2, 3, 4]], "instances", 10)
    with pytest.raises(InvalidInputError, match=r"instances\[1\] must be a list of 3 numbers or an object"):
        rows_matrix(served(), [{"age": 1, "income": 2, "city": 3}, "row"], "instances", 10)


def test_limits_and_shapes() -> None:
    with pytest.raises(PayloadTooLargeError, match="holds 3 rows, more than the limit of 2"):
        rows_matrix(served(), [[1, 2, 3]] * 3, "instances", 2)
    with pytest.raises(InvalidInputError, match="at least one row"):
        rows_matrix(served(), [], "instances", 2)
    with pytest.raises(InvalidInputError, match="must be a list of rows, got an object"):
        rows_matrix(served(), {"a": 1}, "instances", 2)
    huge = 10**30
    matrix, _ = rows_matrix(served(), [[huge, 1, 2]], "instances", 2)
    assert matrix[0, 0] == float(huge)


def test_text_features_give_a_dataframe_and_check_each_type() -> None:
    model = served(("number", "number", "string"))
    matrix, _ = rows_matrix(model, [[1, 2, "paris"]], "instances", 5)
    # The values as they came, until predicted: then one DataFrame with typed columns per call.
    assert matrix.tolist() == [[1, 2, "paris"]]
    frame = model.model_input(matrix)
    assert list(frame.columns) == ["age", "income", "city"]
    assert [str(t) for t in frame.dtypes][:2] == ["float64", "float64"]
    assert frame["city"].tolist() == ["paris"]
    with pytest.raises(InvalidInputError, match=r"instances\[0\]\[2\] \(feature 'city'\) must be a string"):
        rows_matrix(model, [[1, 2, 3]], "instances", 5)
    with pytest.raises(InvalidInputError, match=r"non-numeric value 'x' at instances\[0\]\[0\]"):
        rows_matrix(model, [["x", 2, "paris"]], "instances", 5)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the request body is empty"),
        (b"{", "not valid JSON"),
        (b'{"features": [NaN]}', "not valid JSON"),
        (b'{"features": [1e999]}', "infinity"),
        (b"[1, 2]", "must be a JSON object, got a list"),
    ],
)
def test_bodies_that_are_not_json_objects(body: bytes, message: str) -> None:
    with pytest.raises(MalformedRequestError, match=message):
        parse_object(body)
