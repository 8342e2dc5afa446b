"""What the user's function must return: a fitted scikit-learn estimator and its metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpy.training.errors import TrainingResultError


@dataclass(frozen=True)
class Trained:
    estimator: Any
    metrics: dict[str, float]
    #: ``(X, y)`` the registry measures permutation importance on, when the function returns one.
    validation: tuple[Any, Any] | None = None


@dataclass(frozen=True)
class Fitted:
    """What a job registers: the trained model, the parameters that made it, and anything more its
    result reports (a search's trials)."""

    trained: Trained
    params: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def check_result(value: Any, entry_point: str) -> Trained:
    """``(estimator, metrics)``, or a mapping with ``model``, ``metrics`` and optionally ``validation``
    (``(X, y)`` for the permutation importance the version keeps); anything else is refused."""
    validation = None
    if isinstance(value, Mapping) and "model" in value:
        estimator, metrics = value["model"], value.get("metrics") or {}
        validation = value.get("validation")
        if validation is not None and not (isinstance(validation, tuple | list) and len(validation) == 2):
            raise TrainingResultError(f"{entry_point} returned validation that is not (X, y)")
    elif isinstance(value, tuple) and len(value) == 2:
        estimator, metrics = value
    else:
        raise TrainingResultError(
            f"{entry_point} returned a {type(value).__name__}, not (estimator, metrics)",
            hint="return the fitted estimator and a dict of metrics: return model, {'auc': 0.83}",
        )
    if not hasattr(estimator, "predict") or not hasattr(estimator, "fit"):
        raise TrainingResultError(
            f"{entry_point} returned a {type(estimator).__name__} as its model, not a scikit-learn estimator"
        )
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError as exc:
        raise TrainingResultError(
            f"{entry_point} returned an unfitted {type(estimator).__name__}",
            hint="call fit() before returning it",
        ) from exc
    except TypeError as exc:
        raise TrainingResultError(f"{entry_point} returned {type(estimator).__name__}: {exc}") from exc
    if not isinstance(metrics, Mapping):
        raise TrainingResultError(f"{entry_point} returned metrics as a {type(metrics).__name__}, not a dict")
    checked: dict[str, float] = {}
    for key, number in metrics.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise TrainingResultError(
                f"{entry_point} returned metric {key!r} = {number!r}, not a finite number"
            )
        checked[str(key)] = float(number)
    return Trained(estimator, checked, None if validation is None else (validation[0], validation[1]))
