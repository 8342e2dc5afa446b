"""The Open Inference Protocol (KServe v2) request and response bodies.

Accepts the two shapes clients send: one tensor ``[rows, features]`` (Triton, KServe, MLServer's
numpy codec), or one 1-D tensor per named feature (MLServer's pandas codec).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from mlpy_server.errors import InvalidInputError, MalformedRequestError, PayloadTooLargeError
from mlpy_server.groups import parameter_groups
from mlpy_server.inputs import NUMERIC_KINDS, kind_of
from mlpy_server.oip_binary import DTYPES
from mlpy_server.served import ServedModel

if TYPE_CHECKING:
    from mlpy_server.dataplane import DataPlane

# In the order an error lists them (every datatype accepted).
_NUMERIC = (
    "FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8", "BOOL",
)  # fmt: skip
NUMERIC_DATATYPES = frozenset(_NUMERIC)
DATATYPES = NUMERIC_DATATYPES | {"BYTES"}
_ACCEPTED = f"{', '.join(_NUMERIC)} or BYTES"
OUTPUTS = ("predict", "predict_proba")


class InferRequest:
    """A validated inference request: the matrix, the rows for the log, what to return."""

    __slots__ = ("id", "matrix", "outputs", "parameters", "rows")

    def __init__(
        self,
        id: str | None,
        matrix: Any,
        rows: Any,
        outputs: tuple[str, ...],
        parameters: dict[str, Any],
    ) -> None:
        self.id = id
        self.matrix = matrix
        self.rows = rows
        self.outputs = outputs
        self.parameters = parameters


def parse_infer(served: ServedModel, data: Any, max_rows: int) -> InferRequest:
    if not isinstance(data, dict):
        raise MalformedRequestError(f"the body must be a JSON object, got {kind_of(data)}")
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInputError(f"field 'id' must be a string, got {kind_of(request_id)}", field="id")
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInputError("field 'parameters' must be an object", field="parameters")
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInputError("field 'inputs' must be a non-empty list of tensors", field="inputs")
    tensors = [_tensor(t, i) for i, t in enumerate(inputs)]
    matrix = _single(served, tensors[0]) if len(tensors) == 1 else _columns(served, tensors)
    if matrix.shape[0] > max_rows:
        raise PayloadTooLargeError(
            f"the request holds {matrix.shape[0]} rows, more than the limit of {max_rows}",
            hint="split the request or raise MLPY_MAX_BATCH_ROWS",
            field="inputs",
        )
    if matrix.shape[0] == 0:
        raise InvalidInputError("the request holds no rows", field="inputs")
    return InferRequest(
        request_id,
        *_model_input(served, matrix),
        _outputs(served, data.get("outputs", _LEFT_OUT)),
        parameters,
    )


class _Tensor:
    __slots__ = ("array", "datatype", "name", "shape", "where")

    def __init__(self, name: str, shape: list[int], datatype: str, array: np.ndarray, where: str) -> None:
        self.name, self.shape, self.datatype, self.array, self.where = name, shape, datatype, array, where


def _tensor(raw: Any, index: int) -> _Tensor:
    where = f"inputs[{index}]"
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where} must be an object, got {kind_of(raw)}", field=where)
    name, shape, datatype, data = raw.get("name"), raw.get("shape"), raw.get("datatype"), raw.get("data")
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"{where}.name must be a non-empty string", field=f"{where}.name")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise InvalidInputError(
            f"{where}.shape must be a list of non-negative integers, e.g. [1, 4]", field=f"{where}.shape"
        )
    if datatype not in DATATYPES:
        raise InvalidInputError(
            f"{where}.datatype {datatype!r} is not supported; use {_ACCEPTED}",
            field=f"{where}.datatype",
        )
    # A list from JSON, or an array the binary extension decoded (oip_binary.py).
    if not isinstance(data, list | np.ndarray):
        raise InvalidInputError(f"{where}.data must be a list, got {kind_of(data)}", field=f"{where}.data")
    expected = math.prod(shape)
    if expected > 100_000_000:
        raise PayloadTooLargeError(f"{where}.shape {shape} is too large", field=f"{where}.shape")
    try:
        array = np.array(data, dtype=None).reshape(-1)
    except ValueError as exc:
        raise InvalidInputError(
            f"{where}.data is ragged: nested lists must have equal lengths", field=f"{where}.data"
        ) from exc
    if array.size != expected:
        raise InvalidInputError(
            f"{where}.data holds {array.size} values but shape {shape} needs {expected}",
            field=f"{where}.data",
        )
    if datatype in NUMERIC_DATATYPES:
        if array.dtype.kind not in NUMERIC_KINDS:
            bad = next(
                (v for v in _flat(data) if isinstance(v, bool) or not isinstance(v, int | float)), None
            )
            raise InvalidInputError(
                f"{where}.data must hold numbers for datatype {datatype}, found {kind_of(bad)}",
                field=f"{where}.data",
            )
        _check_range(array, datatype, where)
        try:
            array = array.astype(np.float64)
        except OverflowError as exc:  # pragma: no cover - numpy already refuses such ints above
            raise InvalidInputError(
                f"{where}.data holds a number out of range", field=f"{where}.data"
            ) from exc
        if not np.isfinite(array).all():
            raise InvalidInputError(f"{where}.data holds a non-finite value", field=f"{where}.data")
    elif array.dtype.kind != "U":
        raise InvalidInputError(f"{where}.data must hold strings for datatype BYTES", field=f"{where}.data")
    return _Tensor(name, shape, datatype, array, where)


def _check_range(array: np.ndarray, datatype: str, where: str) -> None:
    """Integer datatypes hold whole numbers their type can represent: UINT8 takes 0 to 255."""
    dtype = DTYPES.get(datatype)
    if dtype is None or dtype.kind not in "iu" or array.dtype == dtype or not array.size:
        return
    if array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
        raise InvalidInputError(
            f"{where}.data must hold whole numbers for datatype {datatype}", field=f"{where}.data"
        )
    info = np.iinfo(dtype)  # type: ignore[type-var]  # an integer dtype: checked above
    low, high = array.min(), array.max()
    if low < info.min or high > info.max:
        raise InvalidInputError(
            f"{where}.data holds {low if low < info.min else high}, out of range for {datatype} "
            f"({info.min} to {info.max})",
            field=f"{where}.data",
        )


def _flat(data: Any) -> Any:
    for value in data:
        if isinstance(value, list):
            yield from _flat(value)
        else:
            yield value


def _single(served: ServedModel, tensor: _Tensor) -> np.ndarray:
    width = served.n_features
    shape = tensor.shape
    if len(shape) == 2:
        if width and shape[1] != width:
            raise InvalidInputError(
                f"{tensor.where}.shape {shape} has {shape[1]} features, the model takes {width}",
                field=f"{tensor.where}.shape",
            )
        return tensor.array.reshape(shape)
    if len(shape) == 1:
        if width == 1:
            return tensor.array.reshape(-1, 1)
        if width and shape[0] == width:
            return tensor.array.reshape(1, -1)
        raise InvalidInputError(
            f"{tensor.where}.shape {shape} is ambiguous; send [rows, {width or 'features'}]",
            field=f"{tensor.where}.shape",
        )
    raise InvalidInputError(
        f"{tensor.where}.shape {shape} must have 1 or 2 dimensions", field=f"{tensor.where}.shape"
    )


def _columns(served: ServedModel, tensors: list[_Tensor]) -> np.ndarray:
    """One tensor per feature, matched by name to the model's features."""
    by_name = {t.name: t for t in tensors}
    names = served.feature_names
    missing = [n for n in names if n not in by_name]
    if missing:
        raise InvalidInputError(
            f"missing input {missing[0]!r}: the model takes {', '.join(names)}", field="inputs"
        )
    if len(by_name) != len(names) or len(tensors) != len(names):
        extra = sorted(set(by_name) - set(names)) or [tensors[-1].name]
        raise InvalidInputError(f"unexpected input {extra[0]!r}", field="inputs")
    rows = tensors[0].array.size
    for tensor in tensors:
        if len(tensor.shape) > 2 or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise InvalidInputError(
                f"{tensor.where}.shape {tensor.shape} must be [rows] or [rows, 1]",
                field=f"{tensor.where}.shape",
            )
        if tensor.array.size != rows:
            raise InvalidInputError(
                f"{tensor.where} has {tensor.array.size} rows, {tensors[0].where} has {rows}",
                field=f"{tensor.where}.shape",
            )
    if not rows:
        return np.empty((0, len(names)))
    columns = [by_name[n].array for n in names]
    if all(c.dtype.kind in "biuf" for c in columns):
        return np.column_stack(columns)
    # Numbers beside text: an object matrix keeps each column's values as they came (a column_stack
    # would turn the numbers into strings).
    matrix = np.empty((rows, len(names)), dtype=object)
    for j, column in enumerate(columns):
        matrix[:, j] = column.reshape(-1)
    return matrix


def _model_input(served: ServedModel, matrix: np.ndarray) -> tuple[Any, np.ndarray]:
    if matrix.dtype.kind in "UO" and served.numeric:
        raise InvalidInputError("BYTES inputs given to a model whose features are numbers", field="inputs")
    # The matrix itself goes to the prediction log: the writer thread turns it into lists, not the
    # request. Models that take named columns get their DataFrame when predicted (ServedModel.predict),
    # once per call however many requests were batched into it.
    return matrix, matrix


_LEFT_OUT = object()


def model_outputs(served: ServedModel) -> tuple[str, ...]:
    """What the model returns: its predictions, and class probabilities for probabilistic classifiers."""
    return ("predict", "predict_proba") if hasattr(served.model, "predict_proba") else ("predict",)


def _outputs(served: ServedModel, raw: Any) -> tuple[str, ...]:
    if raw is _LEFT_OUT:
        return model_outputs(served)  # the protocol: no outputs named means every output
    if not isinstance(raw, list) or not raw:
        raise InvalidInputError("field 'outputs' must be a non-empty list of {name}", field="outputs")
    names = []
    for i, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if name not in OUTPUTS:
            raise InvalidInputError(
                f"outputs[{i}].name must be one of {', '.join(OUTPUTS)}", field=f"outputs[{i}].name"
            )
        if name == "predict_proba" and not hasattr(served.model, "predict_proba"):
            raise InvalidInputError(
                f"outputs[{i}]: {served.ref} has no predict_proba (not a probabilistic classifier)",
                field=f"outputs[{i}].name",
            )
        names.append(str(name))
    return tuple(names)


def datatype_of(array: np.ndarray) -> str:
    kind = array.dtype.kind
    if kind == "f":
        return "FP32" if array.dtype.itemsize == 4 else "FP64"
    if kind in "iu":
        return "INT64"
    if kind == "b":
        return "BOOL"
    return "BYTES"


def output_tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    flat = array.reshape(-1)
    return {
        "name": name,
        "shape": list(array.shape),
        "datatype": datatype_of(array),
        # orjson writes numeric arrays directly (OPT_SERIALIZE_NUMPY); text labels need Python strings.
        "data": flat if flat.dtype.kind in "biuf" else flat.tolist(),
    }


async def run_infer(
    plane: DataPlane,
    served: ServedModel,
    data: Any,
    *,
    request_id: str,
    started: float,
    variant: str | None,
) -> tuple[InferRequest, dict[str, Any]]:
    """One inference as both transports run it: the body checked, predicted (probabilities when an
    output asks), and the protocol's response; the transport encodes it its own way."""
    call = parse_infer(served, data, plane.max_batch_rows)
    groups = parameter_groups(served, call.parameters, len(call.matrix))
    predictions, probabilities = await plane.infer(
        served,
        call.matrix,
        call.rows,
        request_id=request_id,
        started=started,
        variant=variant,
        probabilities="predict_proba" in call.outputs,
        groups=groups,
    )
    return call, infer_response(served, call, request_id, predictions, probabilities)


def infer_response(
    served: ServedModel,
    call: InferRequest,
    request_id: str,
    predictions: np.ndarray,
    probabilities: np.ndarray | None,
) -> dict[str, Any]:
    """The response to an inference, as both transports send it (JSON over HTTP, messages over gRPC)."""
    tensors = {"predict": predictions}
    if probabilities is not None:
        tensors["predict_proba"] = probabilities
    return {
        "model_name": served.name,
        "model_version": served.version,
        "id": call.id or request_id,
        "parameters": {"request_id": request_id},
        "outputs": [output_tensor(output, tensors[output]) for output in call.outputs],
    }


def metadata(served: ServedModel) -> dict[str, Any]:
    """``GET /v2/models/{name}``: inputs as one [-1, n] tensor, as the numpy codec clients send, and
    the outputs with the datatypes the model answers in."""
    labels = datatype_of(np.asarray(served.classes)) if served.classes else "FP64"
    outputs = [{"name": "predict", "datatype": labels, "shape": [-1]}]
    if "predict_proba" in model_outputs(served):
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(served.classes)]})
    return {
        "name": served.name,
        "versions": [served.version],
        "platform": "sklearn",
        "inputs": [
            {
                "name": "input-0",
                "datatype": "FP64" if served.numeric else "BYTES",
                "shape": [-1, served.n_features],
            }
        ],
        "outputs": outputs,
        "parameters": {"features": list(served.feature_names), "task": served.task, "sha256": served.sha256},
    }
