"""The result of a check: per-column verdicts and the dataset verdict, as plain data and JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
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

    @property
    def drift_score(self) -> float:
        """How far the column moved, on one [0, 1] scale for every method (docs/drift.md).

        KS: the larger of D and the shape effect; chi-square: Cramér's V; Jensen-Shannon and Hellinger:
        the distance; PSI and Wasserstein (unbounded): 1 - exp(-value). A null or infinity share that
        moved counts with the size of its move, whichever is largest.
        """
        moves = [_share_move(self.null_share), _share_move(self.inf_share)]
        statistic = self.statistic
        if statistic is not None and math.isfinite(statistic):
            if self.method in ("psi", "wasserstein"):
                moves.append(1.0 - math.exp(-max(statistic, 0.0)))
            elif self.method in ("jensenshannon", "hellinger"):
                moves.append(statistic)
            elif self.effect_size is not None and math.isfinite(self.effect_size):
                moves.append(self.effect_size)
        if self.shape is not None and math.isfinite(self.shape.effect_size):
            moves.append(self.shape.effect_size)
        return float(min(max(moves), 1.0))

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
            "drift_score": self.drift_score,
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
    # Each column's share of the model's permutation importance (summing to 1), when the check had it.
    importance: Mapping[str, float] | None = None

    @property
    def importance_weighted_drift(self) -> float | None:
        """Σ importance share x drift score over the columns: in [0, 1], None without importance."""
        if self.importance is None:
            return None
        return float(sum(self.importance.get(name, 0.0) * f.drift_score for name, f in self.features.items()))

    @property
    def ranking(self) -> list[str]:
        """Columns by how much their drift matters: importance share x drift score (drift score alone
        without importance), largest first; ties by name."""

        def weight(name: str) -> float:
            share = 1.0 if self.importance is None else self.importance.get(name, 0.0)
            return share * self.features[name].drift_score

        return sorted(self.features, key=lambda name: (-weight(name), name))

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
            "importance_weighted_drift": _num(self.importance_weighted_drift),
            "ranking": self.ranking,
            "correction": self.correction,
            "reference": {"rows": self.reference_rows, "source": self.reference_source},
            "current": {"rows": self.current_rows, "source": self.current_source},
            "created_at": self.created_at.isoformat(),
            "duration_seconds": round(self.duration_seconds, 6),
            "features": {name: self._feature_dict(name, feature) for name, feature in self.features.items()},
        }

    def _feature_dict(self, name: str, feature: FeatureDrift) -> dict[str, Any]:
        data = feature.to_dict()
        if self.importance is not None:
            data["importance"] = self.importance.get(name, 0.0)
        return data

    def to_html(self, title: str = "Data drift report") -> str:
        from mlpy.drift.html import render_html

        return render_html(self, title=title)


def _share_move(share: Share | None) -> float:
    """How far a share moved, when that move counts as drift (else 0)."""
    if share is None or not share.drifted or share.reference is None or share.current is None:
        return 0.0
    return abs(share.current - share.reference)


def _num(value: float | None) -> float | None:
    """JSON has no NaN or infinity: both become null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
