"""Group fairness of a classifier in production: per group, how often it selects and how often it is
right, from logged predictions that carry group attributes and have an observed outcome.

Every figure is fairlearn's (``MetricFrame`` with ``selection_rate``, ``true_positive_rate`` and
``false_positive_rate``; ``demographic_parity_difference`` and ``equalized_odds_difference``), computed
on the labels made binary: "is the positive label" for both the prediction and the outcome.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlpy.monitoring.alerts import FAIRNESS_METRICS
from mlpy.monitoring.errors import MonitoringError
from mlpy.monitoring.windows import Window, floor_minute
from mlpy.predlog import LABELLED_COLUMNS, read_labelled_groups
from mlpy.store import Store, utcnow

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_POSITIVE_LABEL = 1


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """One group of one attribute: its labelled samples and fairlearn's rates on them."""

    group: str
    samples: int
    selection_rate: float
    true_positive_rate: float
    false_positive_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "samples": self.samples,
            "selection_rate": self.selection_rate,
            "true_positive_rate": self.true_positive_rate,
            "false_positive_rate": self.false_positive_rate,
        }


@dataclass(frozen=True, slots=True)
class AttributeFairness:
    """The groups of one sensitive feature and the gaps between them (0 when there is one group)."""

    attribute: str
    groups: list[GroupFigures]
    demographic_parity_difference: float
    equalized_odds_difference: float

    @property
    def samples(self) -> int:
        return sum(g.samples for g in self.groups)

    @property
    def min_group_samples(self) -> int:
        """The smallest group's samples: a gap between groups this small is mostly noise."""
        return min((g.samples for g in self.groups), default=0)

    def figures(self) -> dict[str, float | int]:
        """What an alert rule on this attribute reads."""
        return {
            "demographic_parity_difference": self.demographic_parity_difference,
            "equalized_odds_difference": self.equalized_odds_difference,
            "min_group_samples": self.min_group_samples,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "samples": self.samples,
            **self.figures(),
            "groups": [g.to_dict() for g in self.groups],
        }


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """A model (one version, or all when ``version`` is None) over [start, end); or the rows an
    experiment routed to one ``variant``."""

    model: str | None
    version: str | None
    start: datetime
    end: datetime
    positive_label: Any
    samples: int
    attributes: list[AttributeFairness]
    variant: str | None = None

    def figures(self) -> dict[str, Any]:
        """The figures alert rules on fairness metrics read: per attribute, its gaps and smallest group."""
        return {"fairness": {a.attribute: a.figures() for a in self.attributes}}

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "variant": self.variant,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "positive_label": self.positive_label,
            "samples": self.samples,
            "metrics": list(FAIRNESS_METRICS),
            "attributes": [a.to_dict() for a in self.attributes],
        }


def fairness_report(
    store: Store,
    model: str,
    version: str | None = None,
    window: Window | timedelta = Window.daily,
    *,
    now: datetime | None = None,
    positive_label: Any = DEFAULT_POSITIVE_LABEL,
) -> FairnessReport:
    """Fairness over the last ``window`` (up to the end of the current minute, as the report's windows)."""
    span = window.span if isinstance(window, Window) else window
    if span <= timedelta(0):
        raise MonitoringError(f"window {span} is not a duration", hint="use e.g. 1h, 24h or daily")
    end = floor_minute(now or utcnow()) + timedelta(minutes=1)
    return fairness_between(store, model, version, end - span, end, positive_label=positive_label)


def fairness_between(
    store: Store,
    model: str,
    version: str | None,
    start: datetime,
    end: datetime,
    *,
    positive_label: Any = DEFAULT_POSITIVE_LABEL,
) -> FairnessReport:
    """Fairness of the labelled, grouped predictions logged for the model in [start, end)."""
    frame = read_labelled_groups(store, model, start, end, version=version)
    frame = frame[frame["prediction"].notna() & frame["outcome"].notna()]
    attributes = [column for column in frame.columns if column not in LABELLED_COLUMNS]
    found = group_fairness(frame, attributes, positive_label)
    return FairnessReport(model, version, start, end, positive_label, len(frame), found)


def fairness_by_variant(
    store: Store,
    variants: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    positive_label: Any = DEFAULT_POSITIVE_LABEL,
) -> dict[str, FairnessReport]:
    """Each experiment variant's fairness from the rows its servers logged with its name (the router's
    ``X-MLPY-Variant`` header) in [start, end): a report per variant, empty when it has no rows."""
    frame = read_labelled_groups(store, None, start, end, variants=variants)
    frame = frame[frame["prediction"].notna() & frame["outcome"].notna()]
    attributes = [column for column in frame.columns if column not in LABELLED_COLUMNS]
    reports = {}
    for variant in variants:
        rows = frame[frame["variant"] == variant]
        found = group_fairness(rows, attributes, positive_label)
        reports[variant] = FairnessReport(None, None, start, end, positive_label, len(rows), found, variant)
    return reports


def group_fairness(
    frame: pd.DataFrame, attributes: Iterable[str], positive_label: Any = DEFAULT_POSITIVE_LABEL
) -> list[AttributeFairness]:
    """Per attribute (rows where it is known): fairlearn's per-group rates and differences.

    ``frame`` holds ``prediction`` and ``outcome`` columns and one column per attribute.
    """
    positive = label_key(positive_label)
    found = []
    for attribute in attributes:
        known = frame[frame[attribute].notna()]
        if known.empty:
            continue
        y_pred = [int(label_key(v) == positive) for v in known["prediction"]]
        y_true = [int(label_key(v) == positive) for v in known["outcome"]]
        groups = known[attribute].map(_group_name).rename(attribute)
        found.append(_attribute(attribute, y_true, y_pred, groups))
    return found


def _attribute(
    attribute: str, y_true: Sequence[int], y_pred: Sequence[int], groups: Any
) -> AttributeFairness:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    rates = MetricFrame(
        metrics={
            "samples": count,
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    ).by_group
    figures = [
        GroupFigures(
            str(group),
            int(row["samples"]),
            float(row["selection_rate"]),
            float(row["true_positive_rate"]),
            float(row["false_positive_rate"]),
        )
        for group, row in rates.iterrows()
    ]
    return AttributeFairness(
        attribute,
        figures,
        float(demographic_parity_difference(y_true, y_pred, sensitive_features=groups)),
        float(equalized_odds_difference(y_true, y_pred, sensitive_features=groups)),
    )


def _group_name(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def label_key(value: Any) -> str:
    """One spelling per label, so that feedback's ``"1"``, ``1`` and ``1.0`` (or ``true``) are one class."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in {"true", "false"}:
            return str(int(text.lower() == "true"))
        try:
            return label_key(float(text))
        except ValueError:
            return text
    return str(value)
