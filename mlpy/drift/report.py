"""The result of a check: per-column verdicts and the dataset verdict, as plain data and JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlpy.store import utcnow


@dataclass(frozen=True)
class Chart:
    """Reference and current counts over the same buckets, for the HTML report.

    ``edges`` are a numeric histogram's inner bucket edges, ascending (buckets below the first, between
    each two, from the last): the report draws a value axis from them rather than a label per bucket.
    """

    labels: list[str]
    reference: list[int]
    current: list[int]
    edges: list[float] | None = None


@dataclass(frozen=True)
class Share:
    """The share of rows with a property (null, infinite) on each side, and whether its change matters."""

    reference: float | None
    current: float | None
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        return {"reference": _num(self.reference), "current": _num(self.current), "drifted": self.drifted}


@dataclass(frozen=True)
class ShapeDrift:
    """The shape test run beside KS (Anderson-Darling on standardised samples, see shape.py)."""

    statistic: float
    p_value: float
    effect_size: float
    min_effect: float
    threshold: float
    p_value_adjusted: float | None = None
    drifted: bool = False
    method: str = "anderson"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "statistic": _num(self.statistic),
            "p_value": _num(self.p_value),
            "p_value_adjusted": _num(self.p_value_adjusted),
            "effect_size": _num(self.effect_size),
            "min_effect": self.min_effect,
            "threshold": self.threshold,
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    # The p-value after the multiple-testing correction (equal to p_value without one).
    p_value_adjusted: float | None = None
    effect_size: float | None = None
    min_effect: float = 0.0
    distribution_drifted: bool = False
    null_share: Share = Share(None, None, False)
    inf_share: Share | None = None
    unseen_share: float | None = None
    reference_count: int = 0
    current_count: int = 0
    reference_sample: int | None = None
    note: str | None = None
    shape: ShapeDrift | None = None
    chart: Chart | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "method": self.method,
            "statistic": _num(self.statistic),
            "p_value": _num(self.p_value),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "p_value_adjusted": _num(self.p_value_adjusted),
            "effect_size": _num(self.effect_size),
            "min_effect": self.min_effect,
            "distribution_drifted": self.distribution_drifted,
            "null_share": self.null_share.to_dict(),
            "reference_count": self.reference_count,
            "current_count": self.current_count,
        }
        if self.inf_share is not None:
            data["inf_share"] = self.inf_share.to_dict()
        if self.unseen_share is not None:
            data["unseen_share"] = self.unseen_share
        if self.reference_sample is not None:
            data["reference_sample"] = self.reference_sample
        if self.note:
            data["note"] = self.note
        if self.shape is not None:
            data["shape"] = self.shape.to_dict()
        return data


@dataclass(frozen=True)
class DriftReport:
    features: dict[str, FeatureDrift]
    drift_share_threshold: float
    correction: str | None
    reference_rows: int
    current_rows: int
    reference_source: str | None = None
    current_source: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    duration_seconds: float = 0.0

    @property
    def drifted_features(self) -> list[str]:
        return [name for name, feature in self.features.items() if feature.drifted]

    @property
    def drift_share(self) -> float:
        return len(self.drifted_features) / len(self.features) if self.features else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.features) and self.drift_share >= self.drift_share_threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "drift_share_threshold": self.drift_share_threshold,
            "number_of_columns": len(self.features),
            "number_of_drifted_columns": len(self.drifted_features),
            "drifted_columns": self.drifted_features,
            "correction": self.correction,
            "reference": {"rows": self.reference_rows, "source": self.reference_source},
            "current": {"rows": self.current_rows, "source": self.current_source},
            "created_at": self.created_at.isoformat(),
            "duration_seconds": round(self.duration_seconds, 6),
            "features": {name: feature.to_dict() for name, feature in self.features.items()},
        }

    def to_html(self, title: str = "Data drift report") -> str:
        from mlpy.drift.html import render_html

        return render_html(self, title=title)


def _num(value: float | None) -> float | None:
    """JSON has no NaN or infinity: both become null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
