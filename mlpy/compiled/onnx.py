"""A scikit-learn model converted to ONNX (skl2onnx) and run by ONNX Runtime, proven first.

Like the linear shortcut (mlpy_server/fastpath.py), the compiled model must reproduce scikit-learn on
probe rows before anyone uses it. It takes what the server already builds: a validated float64
matrix, or a DataFrame for models that select columns by name (one ONNX input per column then).
Classifiers answer ``classes_[argmax(probabilities)]``, so labels keep scikit-learn's types.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlpy.compiled.errors import CompileRefusedError
from mlpy.compiled.probes import TOLERANCE, disagreement, probe_frame

EXTRA_HINT = "install the compiled extra: pip install 'mlpy[compiled]'"


def runtime_versions() -> dict[str, str]:
    """The converter's and the runtime's versions, or an empty mapping when the extra is missing."""
    try:
        return {name: importlib.metadata.version(name) for name in ("onnxruntime", "skl2onnx")}
    except importlib.metadata.PackageNotFoundError:
        return {}


@dataclass
class CompiledModel:
    """An ONNX Runtime session for one model; ``predict`` and ``predict_proba`` take what sklearn takes."""

    session: Any
    input_names: tuple[str, ...]
    text_inputs: frozenset[str]
    classes: np.ndarray | None
    # float64 for classifiers; ONNX Runtime's tree regressors take float32, as scikit-learn's trees do
    # internally. Never float32 for a model that compares in float64 (HistGradientBoosting): its
    # float32 graph loads, but flipped 1 of 800 training rows (a probability 0.11 off) in a trial,
    # and probes behind a scaler cannot aim at its thresholds to catch that.
    dtype: type = np.float64
    verified_rows: int = 0
    example_rows: int = 0  # of the verified rows, how many came from the registered input example
    max_difference: float = 0.0
    versions: Mapping[str, str] = field(default_factory=dict)

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

    def outputs(self, features: Any) -> list[np.ndarray]:
        return list(self.session.run(None, self.feed(features)))

    def predict(self, features: Any) -> np.ndarray:
        outputs = self.outputs(features)
        if self.classes is None:
            return np.asarray(outputs[0], dtype=np.float64).reshape(len(outputs[0]), -1).squeeze(axis=1)
        return np.asarray(self.classes[np.argmax(outputs[1], axis=1)])

    def predict_proba(self, features: Any) -> np.ndarray:
        return self.labels_and_probabilities(features)[1]

    def labels_and_probabilities(self, features: Any) -> tuple[np.ndarray, np.ndarray]:
        """A classifier's labels and probabilities from one run of the session."""
        if self.classes is None:
            raise CompileRefusedError("a regressor has no class probabilities")
        proba = np.asarray(self.outputs(features)[1], dtype=np.float64)
        return np.asarray(self.classes[np.argmax(proba, axis=1)]), proba

    def describe(self) -> dict[str, Any]:
        return {
            "runtime": " ".join(f"{k} {v}" for k, v in self.versions.items()),
            "verified_rows": self.verified_rows,
            "example_rows": self.example_rows,
            "max_difference": self.max_difference,
            "tolerance": TOLERANCE,
        }


def compile_model(
    model: Any,
    feature_names: Sequence[str],
    feature_types: Sequence[str],
    *,
    by_name: bool,
    categories: Mapping[str, Sequence[str]] | None = None,
    examples: Sequence[Sequence[Any]] | None = None,
) -> CompiledModel:
    """Convert ``model`` and prove it on probe rows (plus ``examples``, rows in the inputs' order,
    such as the input example a registry keeps in the signature); raises
    :class:`CompileRefusedError` saying why when it cannot be used.

    ``by_name``: the model takes a DataFrame (one ONNX input per column). ``categories``: the text
    values each text column's encoder knows, for the probes."""
    versions = runtime_versions()
    if not versions:
        raise CompileRefusedError("ONNX Runtime and skl2onnx are not installed", hint=EXTRA_HINT)
    if not feature_names:
        raise CompileRefusedError("the model's inputs are unknown (register it with a signature)")
    text = frozenset(n for n, t in zip(feature_names, feature_types, strict=True) if t == "string")
    if text and not by_name:
        raise CompileRefusedError("text inputs need a model that selects its columns by name")
    classes = np.asarray(model.classes_) if hasattr(model, "classes_") else None
    dtype = np.float64 if classes is not None else np.float32
    compiled = CompiledModel(
        session=_session(_convert(model, feature_names, text, by_name, dtype)),
        input_names=tuple(feature_names) if by_name else ("X",),
        text_inputs=text,
        classes=classes,
        dtype=dtype,
        versions=versions,
    )
    _verify(compiled, model, feature_names, feature_types, by_name, categories or {}, examples)
    return compiled


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


def _verify(
    compiled: CompiledModel,
    model: Any,
    names: Sequence[str],
    types: Sequence[str],
    by_name: bool,
    categories: Mapping[str, Sequence[str]],
    examples: Sequence[Sequence[Any]] | None,
) -> None:
    import pandas as pd

    columns = probe_frame(model, names, types, categories)
    # Example rows first; a row with a missing value is left out (the probes have none either).
    usable = [row for row in examples or () if len(row) == len(names) and all(v is not None for v in row)]
    if usable:
        columns = {
            n: np.concatenate([np.asarray([row[j] for row in usable], dtype=columns[n].dtype), columns[n]])
            for j, n in enumerate(names)
        }
    frame = pd.DataFrame(columns)
    probes: Any = frame if by_name else frame.to_numpy(dtype=np.float64)
    try:
        expected = np.asarray(model.predict(probes))
        got = compiled.predict(probes)
    except Exception as exc:
        raise CompileRefusedError(
            f"the compiled model failed on probe rows: {type(exc).__name__}: {exc}"
        ) from exc
    problem, worst = disagreement(expected, got, "predictions")
    if problem is None and compiled.classes is not None and hasattr(model, "predict_proba"):
        problem, worst = disagreement(
            np.asarray(model.predict_proba(probes)), compiled.predict_proba(probes), "probabilities"
        )
    if problem is not None:
        raise CompileRefusedError(
            f"the compiled model disagrees with scikit-learn on {len(frame)} probe rows: {problem}"
        )
    compiled.verified_rows = len(frame)
    compiled.example_rows = len(usable)
    compiled.max_difference = worst


def conversion_tags(
    model: Any,
    feature_names: Sequence[str],
    feature_types: Sequence[str],
    *,
    by_name: bool,
    categories: Mapping[str, Sequence[str]] | None = None,
    examples: Sequence[Sequence[Any]] | None = None,
) -> dict[str, str]:
    """What a registry records about compiling ``model``: verified (runtime, rows, largest difference)
    or refused (why). Never raises for a model that cannot be compiled: that is an answer too."""
    try:
        compiled = compile_model(
            model, feature_names, feature_types, by_name=by_name, categories=categories, examples=examples
        )
    except CompileRefusedError as exc:
        return {"mlpy.compiled": "refused", "mlpy.compiled.reason": str(exc)[:500]}
    described = compiled.describe()
    return {
        "mlpy.compiled": "verified",
        "mlpy.compiled.runtime": str(described["runtime"]),
        "mlpy.compiled.verified_rows": str(described["verified_rows"]),
        "mlpy.compiled.max_difference": f"{described['max_difference']:.3g}",
        "mlpy.compiled.tolerance": f"{described['tolerance']:g}",
    }
