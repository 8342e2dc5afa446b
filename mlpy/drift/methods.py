"""Which statistic judges a column, with which threshold: the defaults and the automatic choice.

The defaults are chosen for production windows of thousands to millions of rows, where a bare p-value
flags differences nobody cares about: tests (KS, chi-square) must be significant AND show an effect size
above a minimum; distances compare against a fixed threshold. docs/drift.md explains every number.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mlpy.drift.errors import MethodError


class Kind(enum.StrEnum):
    numeric = "numeric"
    categorical = "categorical"


class Method(enum.StrEnum):
    ks = "ks"
    chisquare = "chisquare"
    psi = "psi"
    wasserstein = "wasserstein"
    jensenshannon = "jensenshannon"
    hellinger = "hellinger"

    @property
    def is_test(self) -> bool:
        """Tests decide on a p-value (``threshold`` is alpha); the others on the distance itself."""
        return self in (Method.ks, Method.chisquare)

    @property
    def numeric_only(self) -> bool:
        return self in (Method.ks, Method.wasserstein)


# Spellings people use for the same method.
ALIASES = {
    "kolmogorov-smirnov": Method.ks,
    "ks_2samp": Method.ks,
    "chi2": Method.chisquare,
    "chi-square": Method.chisquare,
    "chisq": Method.chisquare,
    "js": Method.jensenshannon,
    "jensen-shannon": Method.jensenshannon,
    "wasserstein_distance": Method.wasserstein,
    "wasserstein-normalised": Method.wasserstein,
    "wasserstein_normed": Method.wasserstein,
    "population-stability-index": Method.psi,
}

# threshold: alpha for tests, the distance at or above which a column drifts for the others.
DEFAULT_THRESHOLDS: dict[Method, float] = {
    Method.ks: 0.05,
    Method.chisquare: 0.05,
    Method.psi: 0.1,
    Method.wasserstein: 0.1,
    Method.jensenshannon: 0.1,
    Method.hellinger: 0.1,
}

# Minimum effect a significant test must also show: KS D, and Cramér's V for chi-square.
DEFAULT_MIN_EFFECT: dict[Method, float] = {Method.ks: 0.05, Method.chisquare: 0.05}

# Minimum shape effect (√ of the standardised Anderson-Darling distance, see shape.py) beside KS.
DEFAULT_SHAPE_MIN_EFFECT = 0.05
SHAPE_METHOD = "anderson"

# A numeric column with at most this many distinct reference values is judged on its value counts.
DISCRETE_MAX_VALUES = 10
# Reference-quantile bins for PSI, Jensen-Shannon, Hellinger and chi-square on numeric columns.
DEFAULT_BINS = 10
# Null share moves by at least this much (absolute), significantly, before it counts as drift.
NULL_SHARE_MIN_DELTA = 0.05
DEFAULT_DRIFT_SHARE = 0.5


@dataclass(frozen=True)
class Criterion:
    """How one column is judged."""

    method: Method
    threshold: float
    min_effect: float
    # KS columns also run the shape test with this minimum effect; None: no shape test.
    shape_min_effect: float | None = None


def parse_method(raw: str) -> Method:
    key = raw.strip().lower()
    try:
        return ALIASES.get(key) or Method(key)
    except ValueError as exc:
        names = ", ".join(m.value for m in Method)
        raise MethodError(f"unknown drift method {raw!r}", hint=f"choose one of {names}") from exc


def automatic_method(kind: Kind, discrete: bool) -> Method:
    """KS for continuous numeric columns; chi-square on counts for categories and few-valued numbers."""
    if kind is Kind.numeric and not discrete:
        return Method.ks
    return Method.chisquare


def criterion_for(
    column: str,
    kind: Kind,
    discrete: bool,
    method: Method | None = None,
    threshold: float | None = None,
    min_effect: float | None = None,
    shape_min_effect: float | None = DEFAULT_SHAPE_MIN_EFFECT,
) -> Criterion:
    """The column's criterion: the user's choices where given, the documented defaults elsewhere."""
    chosen = method or automatic_method(kind, discrete)
    if chosen.numeric_only and kind is Kind.categorical:
        raise MethodError(
            f"column {column!r} is categorical; {chosen.value} needs numbers",
            hint="use chisquare, psi, jensenshannon or hellinger for categorical columns",
        )
    limit = DEFAULT_THRESHOLDS[chosen] if threshold is None else threshold
    if not (limit > 0) or (chosen.is_test and limit >= 1):
        raise MethodError(
            f"threshold {limit} for column {column!r} is out of range",
            hint="alpha for ks/chisquare lies in (0, 1); distance thresholds are positive",
        )
    effect = DEFAULT_MIN_EFFECT.get(chosen, 0.0) if min_effect is None else min_effect
    shape = shape_min_effect if chosen is Method.ks else None
    return Criterion(chosen, limit, effect, shape)
