"""Business KPIs (revenue, conversion, loss): per-name sums, and the figures reports and alerts read.

A KPI is recorded per request or per unit (``POST /kpi``, ``MonitoringRecorder.record_kpi``) and kept
as count, sum, sum of squares, min and max per minute, so every figure below derives from sums that
replicas add into the same row.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

from mlpy.monitoring.errors import InvalidEventError

#: The figures of one KPI a report shows and an alert rule may name (``kpi.revenue.mean``).
KPI_FIGURES = ("count", "sum", "mean", "sd", "min", "max")
#: The figures whose time series are analysed for anomalies and trends.
KPI_SERIES = ("count", "sum", "mean")
KPI_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
PREFIX = "kpi."


def check_kpi_name(name: str) -> str:
    """A KPI name: a letter, then letters, digits, ``_``, ``.`` or ``-``; at most 64 characters."""
    if not isinstance(name, str) or not KPI_NAME.match(name):
        shown = name[:40] if isinstance(name, str) else name
        raise InvalidEventError(
            f"bad KPI name {shown!r}",
            hint="start with a letter; letters, digits, '_', '.' or '-'; at most 64 characters",
        )
    return name


def check_kpi_value(name: str, value: float) -> float:
    """A KPI value: a finite number (a boolean or numeric text is refused, not guessed at)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidEventError(
            f"KPI {name!r}: value {value!r} is not a finite number", hint="send a finite number"
        )
    return float(value)


@dataclass(slots=True)
class KpiTotals:
    """One KPI's sums over any set of minutes."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def observe(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.total_sq += value * value
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    def merge(self, other: KpiTotals) -> None:
        self.n += other.n
        self.total += other.total
        self.total_sq += other.total_sq
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def figures(self) -> dict[str, float | int | None]:
        n = self.n
        sd = None
        if n >= 2:
            sd = math.sqrt(max(0.0, (self.total_sq - self.total * self.total / n) / (n - 1)))
        return {
            "count": n,
            "sum": self.total,
            "mean": self.total / n if n else None,
            "sd": sd,
            "min": self.low if n else None,
            "max": self.high if n else None,
        }


def merge_kpis(target: dict[str, KpiTotals], part: dict[str, KpiTotals]) -> None:
    for name, totals in part.items():
        target.setdefault(name, KpiTotals()).merge(totals)


def kpi_figures(kpis: dict[str, KpiTotals]) -> dict[str, dict[str, float | int | None]]:
    """Per KPI name, its figures (what ``mlpy monitor`` shows and the report's JSON holds)."""
    return {name: kpis[name].figures() for name in sorted(kpis)}


def flat_kpi_figures(kpis: dict[str, KpiTotals]) -> dict[str, float | int | None]:
    """``kpi.NAME.FIGURE`` keys beside a window's other figures, for alert rules."""
    return {
        f"{PREFIX}{name}.{figure}": value
        for name, figures in kpi_figures(kpis).items()
        for figure, value in figures.items()
    }


def parse_kpi_metric(metric: str) -> tuple[str, str] | None:
    """``kpi.revenue.mean`` as ("revenue", "mean"); None when ``metric`` does not name a KPI figure."""
    if not metric.startswith(PREFIX):
        return None
    name, _, figure = metric[len(PREFIX) :].rpartition(".")
    if figure not in KPI_FIGURES or not KPI_NAME.match(name):
        return None
    return name, figure
