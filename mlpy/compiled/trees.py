"""Tree ensembles run by treelite's inference library (GTIL), behind the pipeline's preprocessing in
numpy (mlpy.compiled.preparation).

This is the engine for what ONNX Runtime cannot take exactly, HistGradientBoosting above all: its
thresholds and leaf values stay float64, as scikit-learn compares them, where ONNX Runtime's tree
operators work in float32. A pipeline's transformers become numpy arithmetic, so one call costs the
trees and little else.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpy.compiled.errors import CompileRefusedError
from mlpy.compiled.preparation import Preparation, prepare_steps

NAME = "treelite"
ENSEMBLES = frozenset(
    f"{family}{task}"
    for family in ("RandomForest", "ExtraTrees", "GradientBoosting", "HistGradientBoosting")
    for task in ("Classifier", "Regressor")
)


def versions() -> dict[str, str]:
    try:
        return {"treelite": importlib.metadata.version("treelite")}
    except importlib.metadata.PackageNotFoundError:
        return {}


@dataclass
class TreeliteEngine:
    """Takes what scikit-learn takes (a DataFrame by name, or the matrix in the inputs' order) and
    answers the class probabilities of a classifier or the values of a regressor."""

    forest: Any
    prepare: Preparation
    names: tuple[str, ...]
    classifier: bool
    name: str = NAME

    def __call__(self, features: Any) -> np.ndarray:
        import treelite.gtil

        rows = features[list(self.names)].to_numpy(dtype=object) if hasattr(features, "columns") else features
        matrix = np.ascontiguousarray(self.prepare(np.asarray(rows)), dtype=np.float64)
        # One thread per call, as for ONNX Runtime: the server runs many calls at once.
        out = np.asarray(treelite.gtil.predict(self.forest, matrix, nthread=1)).reshape(len(matrix), -1)
        if not self.classifier:
            return np.asarray(out[:, 0], dtype=np.float64)
        if out.shape[1] == 1:  # a binary classifier's output is the second class's probability
            return np.column_stack([1.0 - out[:, 0], out[:, 0]]).astype(np.float64)
        return out.astype(np.float64)


def treelite_engine(model: Any, names: Sequence[str]) -> TreeliteEngine:
    """The engine for a bare tree ensemble or a pipeline ending in one; raises
    :class:`CompileRefusedError` for anything else."""
    steps = (
        [step for _, step in model.steps if step not in (None, "passthrough")]
        if hasattr(model, "steps")
        else [model]
    )
    final, transformers = steps[-1], steps[:-1]
    kind = type(final).__name__
    if kind not in ENSEMBLES or not type(final).__module__.startswith("sklearn."):
        raise CompileRefusedError(f"treelite takes scikit-learn's tree ensembles, not {kind}")
    if np.any(getattr(final, "is_categorical_", None) or False):
        raise CompileRefusedError("treelite is not used for categorical splits")
    if getattr(final, "n_outputs_", 1) != 1:
        raise CompileRefusedError("treelite is not used for multi-output models")
    prepare = prepare_steps(transformers, names)
    import treelite.sklearn

    try:
        forest = treelite.sklearn.import_model(final)
    except Exception as exc:  # the importer raises many types; each means "not importable"
        raise CompileRefusedError(f"treelite cannot import {kind}: {type(exc).__name__}: {exc}") from exc
    return TreeliteEngine(forest, prepare, tuple(names), classifier=hasattr(final, "classes_"))
