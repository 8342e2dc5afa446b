"""Model signatures: the feature names and types a version expects, recorded at registration."""

from __future__ import annotations

from typing import Any

import numpy as np


def _kind(dtype: Any) -> str:
    kind = np.dtype(dtype).kind if not hasattr(dtype, "kind") else dtype.kind
    return {"b": "boolean", "i": "integer", "u": "integer", "f": "number", "M": "datetime"}.get(
        kind, "string"
    )


def infer_signature(model: Any, example: Any = None) -> dict[str, Any] | None:
    """From an input example (a DataFrame or array) when given, else from the fitted model."""
    inputs: list[dict[str, str]] | None = None
    if example is not None and hasattr(example, "dtypes") and hasattr(example, "columns"):
        inputs = [{"name": str(col), "type": _kind(dtype)} for col, dtype in example.dtypes.items()]
    elif example is not None:
        array = np.asarray(example)
        width = 1 if array.ndim < 2 else array.shape[1]
        inputs = [{"name": f"x{i}", "type": _kind(array.dtype)} for i in range(width)]
    elif hasattr(model, "feature_names_in_"):
        inputs = [{"name": str(name), "type": "number"} for name in model.feature_names_in_]
    elif hasattr(model, "n_features_in_"):
        inputs = [{"name": f"x{i}", "type": "number"} for i in range(int(model.n_features_in_))]
    if inputs is None:
        return None
    signature: dict[str, Any] = {"inputs": inputs}
    if hasattr(model, "classes_"):
        signature["output"] = {"task": "classification", "classes": np.asarray(model.classes_).tolist()}
    elif hasattr(model, "predict"):
        signature["output"] = {"task": "regression"}
    return signature


def estimator_name(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"
