"""A column's verdict from its test results, and the multiple-testing correction across columns."""

from __future__ import annotations

import dataclasses

from mlpy.corrections import Correction, adjust
from mlpy.drift.methods import Method
from mlpy.drift.report import FeatureDrift


def with_verdict(feature: FeatureDrift, method: Method) -> FeatureDrift:
    """Drifted when the test (or the shape test beside it) fires, or the null or infinity share moved."""
    if method.is_test:
        p = feature.p_value_adjusted
        effect = feature.effect_size
        moved = _significant(p, feature.threshold, effect, feature.min_effect)
    else:
        moved = feature.statistic is not None and feature.statistic >= feature.threshold
    shape = feature.shape
    if shape is not None:
        shape_moved = _significant(
            shape.p_value_adjusted, shape.threshold, shape.effect_size, shape.min_effect
        )
        shape = dataclasses.replace(shape, drifted=shape_moved)
        moved = moved or shape_moved
    moved = bool(moved)
    others = feature.null_share.drifted or (feature.inf_share is not None and feature.inf_share.drifted)
    return dataclasses.replace(feature, distribution_drifted=moved, drifted=moved or others, shape=shape)


def _significant(p: float | None, alpha: float, effect: float | None, min_effect: float) -> bool:
    """A test's verdict: significant at ``alpha`` and an effect of at least ``min_effect``."""
    return p is not None and p < alpha and effect is not None and effect >= min_effect


def apply_correction(results: dict[str, FeatureDrift], correction: Correction) -> dict[str, FeatureDrift]:
    """The correction over the columns judged by a test, and separately over their shape tests.

    Two families, so the columns' p-values are corrected exactly as without the shape test.
    """
    tested = [name for name, f in results.items() if f.p_value is not None and Method(f.method).is_test]
    shaped = {name: f.shape for name, f in results.items() if f.shape is not None}
    if correction is Correction.none or not (tested or shaped):
        return results
    corrected = dict(results)
    if tested:
        adjusted = adjust([float(results[name].p_value or 0.0) for name in tested], correction)
        for name, p in zip(tested, adjusted, strict=True):
            corrected[name] = dataclasses.replace(corrected[name], p_value_adjusted=float(p))
    if shaped:
        adjusted = adjust([shape.p_value for shape in shaped.values()], correction)
        for (name, shape), p in zip(shaped.items(), adjusted, strict=True):
            adjusted_shape = dataclasses.replace(shape, p_value_adjusted=float(p))
            corrected[name] = dataclasses.replace(corrected[name], shape=adjusted_shape)
    for name in {*tested, *shaped}:
        corrected[name] = with_verdict(corrected[name], Method(corrected[name].method))
    return corrected
