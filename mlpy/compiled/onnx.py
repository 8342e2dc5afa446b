"""A scikit-learn model converted to ONNX (skl2onnx) and run by ONNX Runtime.

The engine takes what the server already builds: a validated float64 matrix, or a DataFrame for
models that select columns by name (one ONNX input per column then). mlpy.compiled.compiling proves
it against scikit-learn before anyone uses it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpy.compiled.errors import CompileRefusedError

NAME = "ONNX Runtime"


def versions() -> dict[str, str]:
    try:
        return {name: importlib.metadata.version(name) for name in ("onnxruntime", "skl2onnx")}
    except importlib.metadata.PackageNotFoundError:
        return {}


@dataclass
class OnnxEngine:
    """An ONNX Runtime session; answers a classifier's probabilities or a regressor's values."""

    session: Any
    input_names: tuple[str, ...]
    text_inputs: frozenset[str]
    classifier: bool
    # float64 for classifiers; ONNX Runtime's tree regressors take float32, as scikit-learn's trees do
    # internally. Never float32 for a model that compares in float64 (HistGradientBoosting): its
    # float32 graph loads, but flipped 1 of 800 training rows (a probability 0.11 off) in a trial,
    # and probes behind a scaler cannot aim at its thresholds to catch that.
    dtype: type = np.float64
    name: str = NAME

    def feed(self, features: Any) -> dict[str, np.ndarray]:
        if len(self.input_names) == 1 and not hasattr(features, "columns"):
            return {self.input_names[0]: np.ascontiguousarray(features, dtype=self.dtype)}
        fed: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.input_names):
            # A DataFrame by name, or a matrix whose columns come in the inputs' order.
            column = features[name].to_numpy() if hasattr(features, "columns") else np.asarray(features)[:, j]
            if name in self.text_inputs:
                fed[name] = np.asarray([str(v) for v in column], dtype=object).reshape(-1, 1)
            else:
                fed[name] = np.asarray(column, dtype=self.dtype).reshape(-1, 1)
        return fed

    def __call__(self, features: Any) -> np.ndarray:
        outputs = self.session.run(None, self.feed(features))
        return np.asarray(outputs[1] if self.classifier else outputs[0])


def onnx_engine(
    model: Any, names: Sequence[str], text: frozenset[str], *, by_name: bool, classifier: bool
) -> OnnxEngine:
    """Convert ``model`` and load it; raises :class:`CompileRefusedError` when either fails."""
    dtype = np.float64 if classifier else np.float32
    return OnnxEngine(
        session=_session(_convert(model, names, text, by_name, dtype)),
        input_names=tuple(names) if by_name else ("X",),
        text_inputs=text,
        classifier=classifier,
        dtype=dtype,
    )


def _convert(model: Any, names: Sequence[str], text: frozenset[str], by_name: bool, dtype: type) -> bytes:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    number = DoubleTensorType if dtype is np.float64 else FloatTensorType
    if by_name:
        types = [(n, StringTensorType([None, 1]) if n in text else number([None, 1])) for n in names]
    else:
        types = [("X", number([None, len(names)]))]
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    options = {id(final): {"zipmap": False}} if hasattr(final, "classes_") else None
    try:
        return bytes(to_onnx(model, initial_types=types, options=options).SerializeToString())
    except Exception as exc:  # skl2onnx raises many types; each means "not convertible"
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise CompileRefusedError(
            f"skl2onnx cannot convert {type(model).__name__}: {type(exc).__name__}: {first}"
        ) from exc


def _session(onnx_bytes: bytes) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # One thread per call: the server runs many calls at once, and workers share the cores.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise CompileRefusedError(f"ONNX Runtime cannot load the converted model: {exc}") from exc
