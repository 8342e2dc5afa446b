"""Reading buckets back: one summary per model version over a window, plus its time series."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from mlpy.monitoring.histogram import percentile
from mlpy.monitoring.kpi import KPI_SERIES, PREFIX, KpiTotals, kpi_figures, merge_kpis
from mlpy.monitoring.tables import KpiBucket, LatencyBin, MinuteBucket, PredictionLabel
from mlpy.store import Store

SERIES_METRICS = ("requests", "error_rate", "latency_mean", "prediction_mean", "mae")


# The additive fields of a bucket (latency_max, bins and labels merge differently).
SUMMED_FIELDS = (
    "requests",
    "errors",
    "latency_sum",
    "latency_sum_sq",
    "prediction_n",
    "prediction_sum",
    "prediction_sum_sq",
    "outcome_n",
    "error_n",
    "abs_error_sum",
    "sq_error_sum",
    "correct",
)


@dataclass(slots=True)
class Totals:
    """Sums over any set of minutes; every reported figure derives from these."""

    requests: int = 0
    errors: int = 0
    latency_sum: float = 0.0
    latency_sum_sq: float = 0.0
    latency_max: float = 0.0
    prediction_n: int = 0
    prediction_sum: float = 0.0
    prediction_sum_sq: float = 0.0
    outcome_n: int = 0
    error_n: int = 0
    abs_error_sum: float = 0.0
    sq_error_sum: float = 0.0
    correct: int = 0
    bins: dict[int, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    kpis: dict[str, KpiTotals] = field(default_factory=dict)

    def add(self, row: MinuteBucket) -> None:
        self.requests += row.requests
        self.errors += row.errors
        self.latency_sum += row.latency_sum
        self.latency_sum_sq += row.latency_sum_sq
        self.latency_max = max(self.latency_max, row.latency_max)
        self.prediction_n += row.prediction_n
        self.prediction_sum += row.prediction_sum
        self.prediction_sum_sq += row.prediction_sum_sq
        self.outcome_n += row.outcome_n
        self.error_n += row.error_n
        self.abs_error_sum += row.abs_error_sum
        self.sq_error_sum += row.sq_error_sum
        self.correct += row.correct

    def figures(self) -> dict[str, float | int | None]:
        def ratio(a: float, b: float) -> float | None:
            return a / b if b else None

        def sd(total: float, total_sq: float, n: int) -> float | None:
            if n < 2:
                return None
            return math.sqrt(max(0.0, (total_sq - total * total / n) / (n - 1)))

        mse = ratio(self.sq_error_sum, self.error_n)
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": ratio(self.errors, self.requests),
            "latency_mean": ratio(self.latency_sum, self.requests),
            "latency_sd": sd(self.latency_sum, self.latency_sum_sq, self.requests),
            "latency_p50": percentile(self.bins, 50, self.latency_max),
            "latency_p95": percentile(self.bins, 95, self.latency_max),
            "latency_p99": percentile(self.bins, 99, self.latency_max),
            "latency_max": self.latency_max if self.requests else None,
            "prediction_mean": ratio(self.prediction_sum, self.prediction_n),
            "prediction_sd": sd(self.prediction_sum, self.prediction_sum_sq, self.prediction_n),
            "outcomes": self.outcome_n,
            "mae": ratio(self.abs_error_sum, self.error_n),
            "rmse": None if mse is None else math.sqrt(mse),
            "accuracy": ratio(self.correct, self.outcome_n),
        }

    def add_kpi(self, row: KpiBucket) -> None:
        kpi = self.kpis.get(row.name)
        if kpi is None:
            kpi = self.kpis[row.name] = KpiTotals()
        kpi.merge(KpiTotals(row.value_n, row.value_sum, row.value_sum_sq, row.value_min, row.value_max))

    def label_shares(self) -> dict[str, float]:
        total = sum(self.labels.values())
        return {label: count / total for label, count in sorted(self.labels.items())} if total else {}


@dataclass(frozen=True, slots=True)
class VersionWindow:
    """One model version over one window: totals and a regular time series (empty steps are zeros/None)."""

    model: str
    version: str
    totals: Totals
    times: list[datetime]
    series: dict[str, list[float | None]]
    steps: list[Totals]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            **self.totals.figures(),
            "prediction_labels": self.totals.label_shares(),
            "kpis": kpi_figures(self.totals.kpis),
        }

    def split(self, recent_share: float = 0.25) -> tuple[Totals, Totals]:
        """(earlier, recent) totals: the last ``recent_share`` of the steps against the rest."""
        cut = max(1, min(len(self.steps) - 1, round(len(self.steps) * (1 - recent_share))))
        return merge_totals(self.steps[:cut]), merge_totals(self.steps[cut:])


def load_windows(
    store: Store, start: datetime, end: datetime, step: timedelta, model: str | None = None
) -> list[VersionWindow]:
    """Every model version with traffic in [start, end), summarised and cut into ``step`` intervals."""
    bucket_query = select(MinuteBucket).where(MinuteBucket.minute >= start, MinuteBucket.minute < end)
    bin_query = select(LatencyBin).where(LatencyBin.minute >= start, LatencyBin.minute < end)
    label_query = select(PredictionLabel).where(PredictionLabel.minute >= start, PredictionLabel.minute < end)
    kpi_query = select(KpiBucket).where(KpiBucket.minute >= start, KpiBucket.minute < end)
    if model is not None:
        bucket_query = bucket_query.where(MinuteBucket.model == model)
        bin_query = bin_query.where(LatencyBin.model == model)
        label_query = label_query.where(PredictionLabel.model == model)
        kpi_query = kpi_query.where(KpiBucket.model == model)
    with store.session() as session:
        rows = session.scalars(bucket_query).all()
        bins = session.scalars(bin_query).all()
        labels = session.scalars(label_query).all()
        kpis = session.scalars(kpi_query).all()
    steps = max(1, math.ceil((end - start) / step))
    totals: dict[tuple[str, str], Totals] = defaultdict(Totals)
    per_step: dict[tuple[str, str], list[Totals]] = defaultdict(lambda: [Totals() for _ in range(steps)])
    for row in rows:
        key = (row.model, row.version)
        totals[key].add(row)
        per_step[key][min(steps - 1, int((row.minute - start) / step))].add(row)
    for b in bins:
        merged = totals[(b.model, b.version)].bins
        merged[b.bin] = merged.get(b.bin, 0) + b.count
    for label in labels:
        key = (label.model, label.version)
        for target in (totals[key], per_step[key][min(steps - 1, int((label.minute - start) / step))]):
            target.labels[label.label] = target.labels.get(label.label, 0) + label.count
    for kpi in kpis:
        key = (kpi.model, kpi.version)
        totals[key].add_kpi(kpi)
        per_step[key][min(steps - 1, int((kpi.minute - start) / step))].add_kpi(kpi)
    times = [start + i * step for i in range(steps)]
    result = []
    for key in sorted(totals):
        figures = [t.figures() for t in per_step[key]]
        series = {name: [_number(f[name]) for f in figures] for name in SERIES_METRICS}
        series.update(_kpi_series(sorted(totals[key].kpis), per_step[key]))
        result.append(VersionWindow(key[0], key[1], totals[key], times, series, per_step[key]))
    return result


def merge_totals(parts: list[Totals]) -> Totals:
    """Sums of several steps (histogram bins are kept per window only, not per step)."""
    merged = Totals()
    for part in parts:
        for name in SUMMED_FIELDS:
            setattr(merged, name, getattr(merged, name) + getattr(part, name))
        merged.latency_max = max(merged.latency_max, part.latency_max)
        for label, count in part.labels.items():
            merged.labels[label] = merged.labels.get(label, 0) + count
        merge_kpis(merged.kpis, part.kpis)
    return merged


def _kpi_series(names: list[str], steps: list[Totals]) -> dict[str, list[float | None]]:
    """``kpi.NAME.count|sum|mean`` per step; a step without the KPI counts 0 and has no mean."""
    empty = KpiTotals()
    series: dict[str, list[float | None]] = {}
    for name in names:
        figures = [step.kpis.get(name, empty).figures() for step in steps]
        for figure in KPI_SERIES:
            series[f"{PREFIX}{name}.{figure}"] = [_number(f[figure]) for f in figures]
    return series


def _number(value: float | int | None) -> float | None:
    return None if value is None else float(value)
