"""Direct numpy predictors for linear models, proven equal to ``predict`` before they are used.

sklearn's ``predict`` re-validates every input (dtype, finiteness, dataframe detection): for a
one-row request that is most of the CPU time. The server has already validated the matrix (float64,
finite, right width), so for estimators whose ``predict`` is the plain linear formula it computes the
formula itself. At load time the shortcut must reproduce ``model.predict`` on random probes, or it is
not used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Predictor = Callable[[np.ndarray], np.ndarray]
PROBE_ROWS = 64
# sklearn predict methods that are exactly ``X @ coef + intercept`` (regressors) or the class with the
# best linear score (classifiers), after input validation. Anything else keeps its own predict.
LINEAR_REGRESSION_PREDICT = frozenset(
    {"LinearModel.predict", "MultiOutputLinearModel.predict", "Ridge.predict", "BaseSGDRegressor.predict"}
)
LINEAR_CLASSIFIER_PREDICT = frozenset({"LinearClassifierMixin.predict"})


def compile_predictor(model: Any, n_features: int) -> Predictor | None:
    """A shortcut for ``model.predict`` on validated float64 matrices, or None when there is none."""
    if n_features < 1 or not isinstance(getattr(model, "coef_", None), np.ndarray):
        return None
    method = getattr(type(model), "predict", None)
    if not getattr(method, "__module__", "").startswith("sklearn.linear_model"):
        return None
    qualname = getattr(method, "__qualname__", "")
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(getattr(model, "intercept_", 0.0), dtype=np.float64)
    weights = coef if coef.ndim == 1 else coef.T
    if weights.shape[0] != n_features:
        return None
    candidate: Predictor | None = None
    if qualname in LINEAR_REGRESSION_PREDICT:

        def candidate(x: np.ndarray) -> np.ndarray:
            return np.asarray(x @ weights + intercept)

    elif qualname in LINEAR_CLASSIFIER_PREDICT:
        classes = np.asarray(model.classes_)

        def candidate(x: np.ndarray) -> np.ndarray:
            scores = x @ weights + intercept
            if scores.ndim == 1 or scores.shape[1] == 1:
                return np.asarray(classes[(scores.reshape(-1) > 0).astype(np.intp)])
            return np.asarray(classes[scores.argmax(axis=1)])

    if candidate is None or not _agrees(model, candidate, n_features):
        return None
    return candidate


def _agrees(model: Any, candidate: Predictor, n_features: int) -> bool:
    rng = np.random.default_rng(12345)
    probes = rng.normal(scale=10.0, size=(PROBE_ROWS, n_features))
    try:
        expected = np.asarray(model.predict(probes))
        got = candidate(probes)
    except Exception:
        return False
    if expected.shape != got.shape:
        return False
    if expected.dtype.kind in "fc":
        return bool(np.allclose(expected, got, rtol=1e-12, atol=1e-12))
    return bool(np.array_equal(expected, got))
