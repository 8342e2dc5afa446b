"""The rows a compiled model must get right before it is used, and what "right" means.

Random normal rows alone prove little for a tree ensemble: features measured in thousands never
cross a split learnt near 1,500. So the probes for each numeric feature are drawn around the
thresholds the model's trees split that feature at (both sides of each), mixed with normal values;
text features take the categories the model's encoders learnt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

PROBE_ROWS = 512
# ONNX Runtime evaluates tree ensembles in float32: labels must be identical, probabilities and
# regression values within this (absolute, and relative to the value's size).
TOLERANCE = 1e-5


def probe_frame(
    model: Any,
    names: Sequence[str],
    types: Sequence[str],
    categories: Mapping[str, Sequence[str]],
    *,
    rows: int = PROBE_ROWS,
    seed: int = 20261201,
) -> dict[str, np.ndarray]:
    """Probe values per input column, ``rows`` each: float64 for numbers, and for text the
    ``categories`` the model's encoders learnt (mlpy.registry.text_categories finds them)."""
    rng = np.random.default_rng(seed)
    thresholds = split_thresholds(model, len(names))
    columns: dict[str, np.ndarray] = {}
    for index, (name, kind) in enumerate(zip(names, types, strict=True)):
        if kind == "string":
            known = categories.get(name) or ["a", "b"]
            columns[name] = np.asarray(rng.choice(known, rows), dtype=object)
            continue
        values = rng.normal(scale=rng.choice([1.0, 10.0], rows))
        cuts = thresholds.get(index)
        if cuts is not None and len(cuts):
            near = rng.choice(cuts, rows) + rng.choice([-1.0, 1.0], rows) * 1e-3 * (
                1 + np.abs(rng.choice(cuts, rows))
            )
            values = np.where(rng.random(rows) < 0.75, near, values)
        if kind in ("integer", "boolean"):
            values = np.round(values)
        columns[name] = values.astype(np.float64)
    return columns


def split_thresholds(model: Any, n_features: int) -> dict[int, np.ndarray]:
    """Per input feature, the thresholds the model's trees split it at (a bare tree ensemble only:
    behind a transformer, tree features are no longer input features)."""
    estimators = getattr(model, "estimators_", None)
    members: Any = [] if estimators is None else np.ravel(np.asarray(estimators, dtype=object))
    trees = [getattr(e, "tree_", None) for e in members]
    if getattr(model, "tree_", None) is not None:
        trees.append(model.tree_)
    found: dict[int, list[float]] = {}
    for tree in trees:
        if tree is None:
            continue
        for feature, threshold in zip(tree.feature, tree.threshold, strict=True):
            if 0 <= feature < n_features:
                found.setdefault(int(feature), []).append(float(threshold))
    return {feature: np.unique(values) for feature, values in found.items()}


def disagreement(expected: np.ndarray, got: np.ndarray, what: str) -> tuple[str | None, float]:
    """Why ``got`` does not match ``expected`` (None when it does), and the largest difference."""
    expected, got = np.asarray(expected), np.asarray(got)
    if expected.shape != got.shape:
        return f"{what}: shape {got.shape}, scikit-learn's is {expected.shape}", float("inf")
    if expected.dtype.kind not in "fc":
        wrong = int(np.sum(expected != got))
        return (f"{what}: {wrong} of {len(expected)} differ" if wrong else None), float(wrong)
    diff = np.abs(expected.astype(np.float64) - got.astype(np.float64))
    worst = float(diff.max()) if diff.size else 0.0
    bound = TOLERANCE * (1 + np.abs(expected.astype(np.float64)))
    if not np.all(diff <= bound):
        return f"{what}: differ by up to {worst:.3g}, more than the tolerance {TOLERANCE:g}", worst
    return None, worst
