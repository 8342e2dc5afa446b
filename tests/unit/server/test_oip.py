"""Open Inference Protocol v2 requests: both tensor layouts, and precise errors for the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlpy_server.errors import InvalidInputError, MalformedRequestError, PayloadTooLargeError
from mlpy_server.oip import metadata, output_tensor, parse_infer
from mlpy_server.served import ServedModel


class Zero:
    def predict(self, x: Any) -> np.ndarray:
        return np.zeros(len(x))


def served(width: int = 3) -> ServedModel:
    signature = {"inputs": [{"name": f"f{i}", "type": "number"} for i in range(width)]}
    return ServedModel.build(
        name="m", version="2", model=Zero(), source="test", artifact_uri="-", sha256="a" * 64, format="skops",
        signature=signature,
    )  # fmt: skip


def tensor(
    shape: list[int], data: list[Any], name: str = "input-0", datatype: str = "FP64"
) -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def test_one_matrix_tensor_flat_or_nested() -> None:
    flat = parse_infer(served(), {"inputs": [tensor([2, 3], [1, 2, 3, 4, 5, 6])]}, 100)
    nested = parse_infer(served(), {"inputs": [tensor([2, 3], [[1, 2, 3], [4, 5, 6]])], "id": "abc"}, 100)
    assert flat.matrix.tolist() == nested.matrix.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert nested.id == "abc"
    assert flat.outputs == ("predict",)


def test_one_tensor_per_feature_is_matched_by_name() -> None:
    inputs = [tensor([2], [30, 40], "f2"), tensor([2, 1], [10, 20], "f0"), tensor([2], [1, 2], "f1", "INT64")]
    request = parse_infer(served(), {"inputs": inputs}, 100)
    assert request.matrix.tolist() == [[10, 1, 30], [20, 2, 40]]


def test_a_single_row_may_come_as_a_vector() -> None:
    assert parse_infer(served(), {"inputs": [tensor([3], [1, 2, 3])]}, 10).matrix.shape == (1, 3)
    assert parse_infer(served(1), {"inputs": [tensor([4], [1, 2, 3, 4])]}, 10).matrix.shape == (4, 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": []}, "field 'inputs' must be a non-empty list"),
        ({"inputs": [tensor([1, 3], [1, 2])]}, r"inputs\[0\].data holds 2 values but shape \[1, 3\] needs 3"),
        ({"inputs": [tensor([1, 4], [1, 2, 3, 4])]}, "has 4 features, the model takes 3"),
        ({"inputs": [tensor([1, 3], [1, "a", 3])]}, "must hold numbers for datatype FP64, found a string"),
        ({"inputs": [tensor([1, 3], [1, None, 3])]}, "must hold numbers for datatype FP64, found null"),
        (
            {"inputs": [tensor([1, 3], [1, 2, 3], datatype="FP128")]},
            "datatype 'FP128' is not supported; use FP64, FP32, FP16, INT64, INT32, INT16, INT8, UINT64,"
            " UINT32, UINT16, UINT8, BOOL or BYTES",
        ),
        ({"inputs": [tensor([1, -3], [1, 2, 3])]}, "shape must be a list of non-negative integers"),
        ({"inputs": [tensor([1, 3], ["a", "b", "c"], datatype="BYTES")]}, "BYTES inputs given to a model"),
        ({"inputs": [tensor([1, 3], [[1, 2], [3]])]}, "ragged"),
        ({"inputs": [tensor([0, 3], [])]}, "holds no rows"),
        ({"inputs": [tensor([2], [1, 2], "f0"), tensor([2], [1, 2], "f1")]}, "missing input 'f2'"),
        (
            {"inputs": [tensor([1, 3], [1, 2, 3])], "outputs": [{"name": "nope"}]},
            "outputs.0..name must be one of",
        ),
        (
            {"inputs": [tensor([1, 3], [1, 2, 3])], "outputs": [{"name": "predict_proba"}]},
            "has no predict_proba",
        ),
        ({"inputs": [tensor([1, 3], [1, 2, 3])], "id": 5}, "field 'id' must be a string"),
    ],
)
def test_invalid_requests(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_infer(served(), body, 100)


def test_not_an_object_and_too_many_rows() -> None:
    with pytest.raises(MalformedRequestError):
        parse_infer(served(), [1], 10)
    with pytest.raises(PayloadTooLargeError, match="holds 4 rows, more than the limit of 3"):
        parse_infer(served(), {"inputs": [tensor([4, 3], [0] * 12)]}, 3)


def test_outputs_and_metadata() -> None:
    out = output_tensor("predict", np.array([1.5, 2.5]))
    assert (out["name"], out["shape"], out["datatype"]) == ("predict", [2], "FP64")
    assert list(out["data"]) == [1.5, 2.5]
    assert output_tensor("predict", np.array(["a"]))["datatype"] == "BYTES"
    assert output_tensor("predict", np.array([1], dtype=np.int32))["datatype"] == "INT64"
    meta = metadata(served())
    assert meta["name"] == "m"
    assert meta["versions"] == ["2"]
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, 3]}]
