"""A pipeline's preprocessing as plain numpy: what its transformers compute, without their checks.

A ColumnTransformer of a scaler and a one-hot encoder costs milliseconds per call in scikit-learn,
for any number of rows: it builds and validates a DataFrame per column group. The server has already
checked its input (numbers finite, text as strings), so this module computes the same arithmetic
directly: ``(x - mean) / scale`` in scikit-learn's order of operations, and one-hot columns from a
dictionary of each encoder's categories. Only the transformers listed here are supported, each with
the settings whose arithmetic is known; anything else is refused. The caller (mlpy.compiled.trees)
then proves the whole model end to end against scikit-learn before it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlpy.compiled.errors import CompileRefusedError

# From the server's matrix (columns in the model's input order; object dtype when text is among
# them) to the float64 matrix the final estimator takes.
Preparation = Callable[[np.ndarray], np.ndarray]


def prepare_steps(steps: Sequence[Any], names: Sequence[str]) -> Preparation:
    """One function for a pipeline's transformers, applied in order; ``names`` are the model's
    inputs in the order the server's matrix has them."""
    stages = [_stage(step, names if i == 0 else None) for i, step in enumerate(steps)]
    if not stages:
        return _as_numbers

    def prepare(rows: np.ndarray) -> np.ndarray:
        out = rows
        for stage in stages:
            out = stage(out)
        return out

    return prepare


def _as_numbers(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64)


def _stage(step: Any, names: Sequence[str] | None) -> Preparation:
    kind = type(step).__name__
    if kind == "ColumnTransformer":
        if names is None:
            raise CompileRefusedError("a ColumnTransformer after another step is not supported")
        return _columns(step, names)
    return _numeric(step)


def _numeric(step: Any) -> Preparation:
    """A transformer of numbers alone, on the whole matrix."""
    kind = type(step).__name__
    if kind == "StandardScaler":
        mean = step.mean_ if step.with_mean else None
        scale = step.scale_ if step.with_std else None

        def standardize(rows: np.ndarray) -> np.ndarray:
            out = np.array(rows, dtype=np.float64)
            if mean is not None:
                out -= mean
            if scale is not None:
                out /= scale
            return out

        return standardize
    if kind == "MinMaxScaler":
        if step.clip:
            raise CompileRefusedError("MinMaxScaler(clip=True) is not supported")
        factor, offset = step.scale_, step.min_

        def rescale(rows: np.ndarray) -> np.ndarray:
            out = np.array(rows, dtype=np.float64)
            out *= factor
            out += offset
            return out

        return rescale
    if kind == "FunctionTransformer" and step.func is None:
        return _as_numbers
    raise CompileRefusedError(f"the transformer {kind} has no verified numpy form")


def _columns(transformer: Any, names: Sequence[str]) -> Preparation:
    """A ColumnTransformer: each group of input columns through its transformer, side by side."""
    known = list(getattr(transformer, "feature_names_in_", names))
    position = {name: names.index(name) for name in known if name in names}
    parts: list[Preparation] = []
    for label, step, columns in transformer.transformers_:
        indices = _indices(columns, known, position, label)
        if step == "drop" or not indices:
            continue
        if step == "passthrough":
            parts.append(_pick(indices, _as_numbers))
        elif type(step).__name__ == "OneHotEncoder":
            parts.append(_pick(indices, _one_hot(step)))
        else:
            parts.append(_pick(indices, _numeric(step)))
    if not parts:
        raise CompileRefusedError("the ColumnTransformer selects no column")

    def transform(rows: np.ndarray) -> np.ndarray:
        return np.hstack([part(rows) for part in parts])

    return transform


def _indices(columns: Any, known: list[str], position: dict[str, int], label: str) -> list[int]:
    """Where the group's columns sit in the server's matrix."""
    if isinstance(columns, str):
        columns = [columns]
    if isinstance(columns, slice) or callable(columns):
        raise CompileRefusedError(f"the column group {label!r} is selected by a {type(columns).__name__}")
    selected = list(np.asarray(columns).tolist()) if not isinstance(columns, list) else columns
    if selected and isinstance(selected[0], bool):
        selected = [known[i] for i, keep in enumerate(selected) if keep]
    found: list[int] = []
    for column in selected:
        name = known[column] if isinstance(column, int) else column
        if name not in position:
            raise CompileRefusedError(f"the column {name!r} of the group {label!r} is not among the inputs")
        found.append(position[name])
    return found


def _pick(indices: list[int], then: Preparation) -> Preparation:
    def pick(rows: np.ndarray) -> np.ndarray:
        return then(rows[:, indices])

    return pick


def _one_hot(encoder: Any) -> Preparation:
    """An OneHotEncoder without dropped or infrequent categories: a 1 in each value's column; an
    unknown value gives a zero group when the encoder ignores unknowns, else an error as
    scikit-learn's."""
    if getattr(encoder, "drop_idx_", None) is not None:
        raise CompileRefusedError("OneHotEncoder(drop=...) is not supported")
    if getattr(encoder, "infrequent_categories_", None) and any(
        c is not None for c in encoder.infrequent_categories_
    ):
        raise CompileRefusedError("OneHotEncoder with infrequent categories is not supported")
    if encoder.handle_unknown not in ("ignore", "error"):
        raise CompileRefusedError(
            f"OneHotEncoder(handle_unknown={encoder.handle_unknown!r}) is not supported"
        )
    ignore = encoder.handle_unknown == "ignore"
    lookups = [{value: i for i, value in enumerate(np.asarray(c).tolist())} for c in encoder.categories_]
    offsets = np.cumsum([0] + [len(c) for c in encoder.categories_]).tolist()
    width = offsets[-1]

    def encode(rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), width), dtype=np.float64)
        for k, lookup in enumerate(lookups):
            start = offsets[k]
            for i, value in enumerate(rows[:, k].tolist()):
                j = lookup.get(value)
                if j is not None:
                    out[i, start + j] = 1.0
                elif not ignore:
                    raise ValueError(f"Found unknown categories [{value!r}] in column {k} during transform")
        return out

    return encode
