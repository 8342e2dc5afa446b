"""Feature importance as drift weights: each checked column's share of the model's importance.

The registry stores permutation importance as ``{feature: {"mean": m, "std": s}}``; a check takes that
or plain ``{feature: m}``. Negative means (a feature the model does better without, within noise) weigh
nothing, and so do columns the importance does not name; the shares of the checked columns sum to 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mlpy.drift.errors import MethodError


def importance_shares(importance: Mapping[str, Any], names: Sequence[str]) -> dict[str, float]:
    """Each of ``names``' share of the positive importance among them."""
    raw = {name: _mean(name, importance[name]) for name in names if name in importance}
    positive = {name: max(value, 0.0) for name, value in raw.items()}
    total = sum(positive.values())
    if not total > 0:
        raise MethodError(
            "the importance gives none of the checked columns a positive weight",
            hint=f"name checked columns ({', '.join(names)}) with importance above 0",
        )
    return {name: positive.get(name, 0.0) / total for name in names}


def _mean(name: str, value: Any) -> float:
    raw: Any = value.get("mean") if isinstance(value, Mapping) else value
    try:
        mean = float(raw)
    except (TypeError, ValueError) as exc:
        raise MethodError(
            f"importance of {name!r} is {value!r}, not a number",
            hint="give {feature: mean} or the registry's form",
        ) from exc
    if not math.isfinite(mean):
        raise MethodError(f"importance of {name!r} is {mean}", hint="importance must be finite")
    return mean
