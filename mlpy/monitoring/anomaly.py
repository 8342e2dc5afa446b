"""Spotting the odd points of a series: z-score for roughly normal series, IQR fences for skewed ones."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpy.monitoring.errors import MonitoringError

MIN_POINTS = 8


class Method(enum.StrEnum):
    zscore = "zscore"
    iqr = "iqr"


@dataclass(frozen=True, slots=True)
class Anomaly:
    index: int
    value: float
    score: float
    method: Method

    def to_dict(self) -> dict[str, Any]:
        score = self.score if np.isfinite(self.score) else None
        return {"index": self.index, "value": self.value, "score": score, "method": str(self.method)}


def _clean(values: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    index = np.array([i for i, v in enumerate(values) if v is not None], dtype=int)
    data = np.array([v for v in values if v is not None], dtype=float)
    return index, data


def zscore_anomalies(values: Sequence[float | None], threshold: float = 3.0) -> list[Anomaly]:
    """Points more than ``threshold`` standard deviations from the mean (missing points skipped).

    A leave-one-out mean and deviation, so one big spike cannot hide itself by inflating the spread.
    """
    if threshold <= 0:
        raise MonitoringError(f"z-score threshold {threshold} must be positive", hint="e.g. 3")
    index, data = _clean(values)
    if data.size < MIN_POINTS:
        return []
    n = data.size
    total, total_sq = data.sum(), np.dot(data, data)
    others_mean = (total - data) / (n - 1)
    others_var = np.maximum((total_sq - data**2 - (n - 1) * others_mean**2) / (n - 2), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Against a perfectly flat rest of the series any departure is anomalous (e.g. errors after none).
        flat = np.where(np.isclose(data, others_mean), 0.0, np.sign(data - others_mean) * np.inf)
        scores = np.where(others_var > 0, (data - others_mean) / np.sqrt(others_var), flat)
    return [
        Anomaly(int(index[i]), float(data[i]), float(scores[i]), Method.zscore)
        for i in np.flatnonzero(np.abs(scores) > threshold)
    ]


def iqr_anomalies(values: Sequence[float | None], k: float = 1.5) -> list[Anomaly]:
    """Points outside Tukey's fences [Q1 - k·IQR, Q3 + k·IQR]; the score is the distance in IQRs."""
    if k <= 0:
        raise MonitoringError(f"IQR multiplier {k} must be positive", hint="e.g. 1.5 (3 for extreme only)")
    index, data = _clean(values)
    if data.size < MIN_POINTS:
        return []
    q1, q3 = np.percentile(data, [25, 75])
    spread = float(q3 - q1)
    if spread == 0:
        spread = float(np.median(np.abs(data - np.median(data)))) or 0.0
        if spread == 0:
            return [
                Anomaly(int(index[i]), float(data[i]), float("inf"), Method.iqr)
                for i in np.flatnonzero(data != q1)
            ]
    low, high = q1 - k * spread, q3 + k * spread
    outside = np.flatnonzero((data < low) | (data > high))
    return [
        Anomaly(
            int(index[i]),
            float(data[i]),
            float((data[i] - high) / spread if data[i] > high else (data[i] - low) / spread),
            Method.iqr,
        )
        for i in outside
    ]


def detect(values: Sequence[float | None], method: Method, threshold: float | None = None) -> list[Anomaly]:
    if method is Method.zscore:
        return zscore_anomalies(values, 3.0 if threshold is None else threshold)
    return iqr_anomalies(values, 1.5 if threshold is None else threshold)
