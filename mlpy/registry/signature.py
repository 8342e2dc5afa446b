"""Model signatures: the feature names and types a version expects, recorded at registration."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

# numpy is imported where it is used: the functions here are handed models and arrays, so it is
# loaded by then, and the registry's commands that never see a model start without it.


# Input types a model takes as numbers (float64); every other type ("string") is text.
NUMERIC_TYPES = frozenset({"number", "integer", "boolean"})


def _kind(dtype: Any) -> str:
    import numpy as np

    kind = np.dtype(dtype).kind if not hasattr(dtype, "kind") else dtype.kind
    return {"b": "boolean", "i": "integer", "u": "integer", "f": "number", "M": "datetime"}.get(
        kind, "string"
    )


def infer_signature(model: Any, example: Any = None) -> dict[str, Any] | None:
    """From an input example (a DataFrame or array) when given, else from the fitted model."""
    import numpy as np

    inputs: list[dict[str, str]] | None = None
    if example is not None and hasattr(example, "dtypes") and hasattr(example, "columns"):
        inputs = [{"name": str(col), "type": _kind(dtype)} for col, dtype in example.dtypes.items()]
    elif example is not None:
        array = np.asarray(example)
        width = 1 if array.ndim < 2 else array.shape[1]
        inputs = [{"name": f"x{i}", "type": _kind(array.dtype)} for i in range(width)]
    elif hasattr(model, "feature_names_in_"):
        text = text_features(model)
        inputs = [
            {"name": str(name), "type": "string" if str(name) in text else "number"}
            for name in model.feature_names_in_
        ]
    elif hasattr(model, "n_features_in_"):
        inputs = [{"name": f"x{i}", "type": "number"} for i in range(int(model.n_features_in_))]
    if inputs is None:
        return None
    signature: dict[str, Any] = {"inputs": inputs}
    if example is not None:
        rows = example_rows(example)
        if rows:
            signature["example"] = rows
    if hasattr(model, "classes_"):
        signature["output"] = {"task": "classification", "classes": np.asarray(model.classes_).tolist()}
    elif hasattr(model, "predict"):
        signature["output"] = {"task": "regression"}
    return signature


# Rows of the input example kept in the signature: what a reader sees the model take, and rows a
# compiled model must answer as scikit-learn does (mlpy.compiled).
EXAMPLE_ROWS = 20


def example_rows(example: Any) -> list[list[Any]]:
    """The first rows of an input example as JSON values (non-finite numbers as None)."""
    import numpy as np

    head = example.head(EXAMPLE_ROWS).to_numpy(dtype=object) if hasattr(example, "head") else None
    if head is None:
        array = np.asarray(example, dtype=object)
        head = array.reshape(-1, 1)[:EXAMPLE_ROWS] if array.ndim < 2 else array[:EXAMPLE_ROWS]
    return _json_rows(head)


def _json_rows(rows: Any) -> list[list[Any]]:
    import math

    import numpy as np

    def plain(value: Any) -> Any:
        value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value if value is None or isinstance(value, str | int | float | bool) else str(value)

    return [[plain(v) for v in row] for row in rows]


# The stored sample: real input rows kept with the version (validation X, else a larger input
# example), so a compiled model is proven on data like the traffic, not on probes alone. Bounded in
# rows and in values, so a wide model's signature stays small; drawn with a fixed seed.
SAMPLE_ROWS = 200
SAMPLE_VALUES = 20_000


def with_sample(signature: dict[str, Any] | None, data: Any, *, validation: bool) -> dict[str, Any] | None:
    """``signature`` with a ``sample`` of ``data``'s rows in its inputs' order, or unchanged when the
    rows cannot be matched to the inputs, or when an input example has no rows beyond the example
    the signature already keeps (``validation``: ``data`` is the validation X, always sampled)."""
    import numpy as np

    inputs = (signature or {}).get("inputs") or []
    names = [str(i["name"]) for i in inputs]
    if signature is None or data is None or not names or "sample" in signature:
        return signature
    rows = len(data) if hasattr(data, "__len__") else 0
    if rows == 0 or (not validation and rows <= EXAMPLE_ROWS):
        return signature
    keep = min(SAMPLE_ROWS, max(1, SAMPLE_VALUES // len(names)))
    # Drawn first, converted after: a training frame of millions of rows costs its sample only.
    chosen = np.sort(np.random.default_rng(0).choice(rows, keep, replace=False)) if rows > keep else None
    if hasattr(data, "columns"):
        if not set(names) <= {str(c) for c in data.columns}:
            return signature
        data = data if chosen is None else data.iloc[chosen]
        array = data.rename(columns=str)[names].to_numpy(dtype=object)
    else:
        array = np.asarray(data if chosen is None else np.asarray(data)[chosen], dtype=object)
        array = array.reshape(-1, 1) if array.ndim == 1 else array
    if array.ndim != 2 or array.shape[1] != len(names):
        return signature
    return {**signature, "sample": _json_rows(array)}


def verification_rows(signature: Any) -> dict[str, list[list[Any]] | None]:
    """The real rows a version's compiled model must reproduce scikit-learn on, beside the probes:
    its input example and its stored sample (None for a version registered without them)."""
    return {"examples": (signature or {}).get("example"), "sample": (signature or {}).get("sample")}


def _parts(model: Any) -> Iterator[Any]:
    """The estimator and every fitted estimator nested in it: pipeline steps, column transformer
    branches, feature union members."""
    yield model
    for _, step in getattr(model, "steps", None) or []:
        yield from _parts(step)
    for _, branch, _ in getattr(model, "transformers_", None) or []:
        if not isinstance(branch, str):  # "drop" and "passthrough"
            yield from _parts(branch)
    for _, member in getattr(model, "transformer_list", None) or []:
        yield from _parts(member)


def _named_columns(columns: Any) -> list[str] | None:
    import numpy as np

    if isinstance(columns, str):
        return [columns]
    if (
        isinstance(columns, list | tuple | np.ndarray)
        and len(columns)
        and all(isinstance(c, str) for c in columns)
    ):
        return [str(c) for c in columns]
    return None


def selects_columns_by_name(model: Any) -> bool:
    """True when a column transformer inside picks columns by name: it can only be given a DataFrame."""
    return any(
        _named_columns(columns) is not None
        for part in _parts(model)
        for _, _, columns in getattr(part, "transformers_", None) or []
    )


def takes_named_columns(model: Any, types: Sequence[str]) -> bool:
    """True when the model must be given a DataFrame, not a matrix: one of its inputs is text, or a
    column transformer inside selects columns by name (the server and the compiled path both ask)."""
    return not all(t in NUMERIC_TYPES for t in types) or selects_columns_by_name(model)


def text_features(model: Any) -> set[str]:
    """Input columns that a fitted encoder inside the model learnt as text categories.

    Without an input example this is the only way to know that ``region`` takes "north", not a
    number, so a server can build the DataFrame the pipeline's encoder needs.
    """
    return set(text_categories(model))


def text_categories(model: Any) -> dict[str, list[str]]:
    """The text categories each such input column's encoder learnt (``region``: north, south...)."""
    import numpy as np

    text: dict[str, list[str]] = {}
    for part in _parts(model):
        for _, branch, columns in getattr(part, "transformers_", None) or []:
            names = _named_columns(columns)
            if names is None or isinstance(branch, str):
                continue
            for encoder in _parts(branch):
                for name, categories in zip(names, getattr(encoder, "categories_", None) or [], strict=False):
                    values = np.asarray(categories)
                    if values.dtype.kind in "OUS":
                        text[name] = [str(v) for v in values if isinstance(v, str)]
    return text


def estimator_name(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"
