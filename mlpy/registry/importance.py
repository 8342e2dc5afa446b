"""Permutation importance stored on a version, so drift checks can weigh each feature by what it matters.

Computed once at registration on a validation sample (bounded, seeded, so registering is repeatable
and costs seconds, not minutes), or given precomputed. Stored as ``{feature: {"mean": m, "std": s}}``:
the mean drop in the model's default score when the feature is shuffled, and its spread over repeats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mlpy.registry.errors import InvalidInputError

# At most this many validation rows (a seeded sample of them): enough for a stable ranking.
MAX_ROWS = 2_000
N_REPEATS = 5
RANDOM_STATE = 0


def permutation_importances(
    model: Any, validation: tuple[Any, Any], *, feature_names: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """``sklearn.inspection.permutation_importance`` of ``model`` on (X, y), per feature name.

    Names come from a DataFrame's columns, else ``feature_names`` (the signature's), else x0, x1...
    """
    import numpy as np
    from sklearn.inspection import permutation_importance

    try:
        features, target = validation
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("validation must be a pair (X, y)") from exc
    rows = len(features)
    if rows < 2 or rows != len(target):
        raise InvalidInputError(
            f"validation has {rows} rows of X and {len(target)} of y; give at least 2 matching rows"
        )
    names = _names(features, feature_names)
    if rows > MAX_ROWS:
        keep = np.sort(np.random.default_rng(RANDOM_STATE).choice(rows, MAX_ROWS, replace=False))
        features = features.iloc[keep] if hasattr(features, "iloc") else np.asarray(features)[keep]
        target = target.iloc[keep] if hasattr(target, "iloc") else np.asarray(target)[keep]
    try:
        result = permutation_importance(
            model, features, target, n_repeats=N_REPEATS, random_state=RANDOM_STATE
        )
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"cannot compute permutation importance on the validation data: {exc}"
        ) from exc
    return {
        name: {"mean": float(mean), "std": float(std)}
        for name, mean, std in zip(names, result.importances_mean, result.importances_std, strict=True)
    }


def checked_importance(importance: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Precomputed importance, ``{feature: mean}`` or ``{feature: {"mean": m, "std": s}}``, validated."""
    clean: dict[str, dict[str, float]] = {}
    for name, value in importance.items():
        entry = dict(value) if isinstance(value, Mapping) else {"mean": value, "std": 0.0}
        try:
            mean, std = float(entry["mean"]), float(entry.get("std", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"importance of {name!r} must be a number or {{'mean': m, 'std': s}}, got {value!r}"
            ) from exc
        if not (math.isfinite(mean) and math.isfinite(std)) or std < 0 or not str(name):
            raise InvalidInputError(f"importance of {name!r} must be finite with std >= 0, got {value!r}")
        clean[str(name)] = {"mean": mean, "std": std}
    if not clean:
        raise InvalidInputError("importance is empty: give one entry per feature, or leave it out")
    return clean


def _names(features: Any, fallback: Sequence[str] | None) -> list[str]:
    width = features.shape[1] if hasattr(features, "shape") and len(features.shape) == 2 else None
    if hasattr(features, "columns"):
        return [str(column) for column in features.columns]
    if fallback is not None and width is not None and len(fallback) == width:
        return list(fallback)
    if width is None:
        raise InvalidInputError("validation X must be two-dimensional (rows x features)")
    return [f"x{index}" for index in range(width)]


def version_importance(
    model: Any,
    signature: Mapping[str, Any] | None,
    validation: tuple[Any, Any] | None,
    importance: Mapping[str, Any] | None,
) -> dict[str, dict[str, float]] | None:
    """What a new version stores: the given importance, else computed on ``validation``, else None."""
    if importance is not None and validation is not None:
        raise InvalidInputError("give validation data or a precomputed importance, not both")
    if importance is not None:
        return checked_importance(importance)
    if validation is None:
        return None
    names = [str(i["name"]) for i in (signature or {}).get("inputs", [])] or None
    return permutation_importances(model, validation, feature_names=names)
