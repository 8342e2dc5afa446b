"""Multiple-testing corrections, one vocabulary for every package that tests several hypotheses at once:
drift (one test per column) and experiments (one comparison per treatment)."""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np


class Correction(enum.StrEnum):
    none = "none"
    #: Family-wise error: each p-value times the number of tests.
    bonferroni = "bonferroni"
    #: Family-wise error, uniformly more powerful than Bonferroni (step-down).
    holm = "holm"
    #: False discovery rate (step-up); ``bh`` is accepted as its short name.
    benjamini_hochberg = "benjamini-hochberg"

    @classmethod
    def parse(cls, value: str | Correction | None) -> Correction:
        """``None`` is no correction; raises ValueError naming the choices for anything unknown."""
        if value is None:
            return cls.none
        if isinstance(value, Correction):
            return value
        text = value.strip().lower()
        if text == "bh":
            return cls.benjamini_hochberg
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown correction {value!r}: use one of {choices} (or bh)") from None


def adjust(p_values: Sequence[float], correction: Correction) -> list[float]:
    """The adjusted p-values, in the order given (unchanged for one test or no correction)."""
    if len(p_values) <= 1 or correction is Correction.none:
        return [float(p) for p in p_values]
    values = np.asarray(p_values, dtype=float)
    m = len(values)
    if correction is Correction.bonferroni:
        return [float(v) for v in np.minimum(values * m, 1.0)]
    if correction is Correction.benjamini_hochberg:
        from scipy import stats  # ~1 s to import: only when a correction is asked for

        return [float(v) for v in stats.false_discovery_control(values, method="bh")]
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(np.argsort(values)):
        running = max(running, min(1.0, (m - rank) * values[index]))
        adjusted[index] = running
    return [float(v) for v in adjusted]
