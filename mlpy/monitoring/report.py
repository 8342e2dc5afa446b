"""The monitoring report: per model version, the window's figures, anomalies, trends, group fairness
(when its logged predictions carry group attributes and outcomes) and alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlpy.monitoring.alerts import DEFAULT_RULES, Alert, AlertLog, AlertRule
from mlpy.monitoring.anomaly import Method, detect
from mlpy.monitoring.fairness import FairnessReport, fairness_between
from mlpy.monitoring.kpi import flat_kpi_figures
from mlpy.monitoring.shift import Shift, prediction_shift
from mlpy.monitoring.summary import VersionWindow, load_windows
from mlpy.monitoring.trend import trend
from mlpy.monitoring.windows import Window, window_bounds
from mlpy.store import Store, utcnow


@dataclass(frozen=True, slots=True)
class VersionReport:
    window: VersionWindow
    anomalies: dict[str, list[dict[str, Any]]]
    trends: dict[str, dict[str, Any] | None]
    alerts: list[Alert]
    shift: Shift | None = None
    fairness: FairnessReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.window.to_dict(),
            "anomalies": self.anomalies,
            "trends": self.trends,
            "prediction_shift": None if self.shift is None else self.shift.to_dict(),
            "fairness": None if self.fairness is None else self.fairness.to_dict(),
            "alerts": [a.to_dict() for a in self.alerts],
        }


@dataclass(frozen=True, slots=True)
class Report:
    window: Window
    start: datetime
    end: datetime
    versions: list[VersionReport]

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": str(self.window),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step_s": self.window.step.total_seconds(),
            "models": [v.to_dict() for v in self.versions],
        }


def build_report(
    store: Store,
    window: Window = Window.daily,
    *,
    now: datetime | None = None,
    model: str | None = None,
    rules: Sequence[AlertRule] = DEFAULT_RULES,
    method: Method = Method.zscore,
    threshold: float | None = None,
    record_alerts: bool = True,
) -> Report:
    """Read the window's buckets and analyse each version; with ``record_alerts`` the alert log is updated
    (deduplicated), so running the report every minute from cron pages once per episode."""
    now = now or utcnow()
    start, end = window_bounds(window, now)
    log = AlertLog(store)
    versions = []
    for vw in load_windows(store, start, end, window.step, model):
        fairness = fairness_between(store, vw.model, vw.version, start, end)
        figures = {**rule_figures(vw), **fairness.figures()}
        anomalies = {}
        for name, series in vw.series.items():  # the request series, then each KPI's (kpi.NAME.mean, ...)
            found = detect(series, method, threshold)
            anomalies[name] = [{**a.to_dict(), "at": vw.times[a.index].isoformat()} for a in found]
        trends = {}
        for name in vw.series:
            found_trend = trend(vw.times, vw.series[name])
            trends[name] = None if found_trend is None else found_trend.to_dict()
        alerts = (
            log.sync(vw.model, vw.version, rules, figures, now)
            if record_alerts
            else _evaluate(vw, rules, figures, now)
        )
        shift = prediction_shift(*vw.split())
        grouped = fairness if fairness.attributes else None
        versions.append(VersionReport(vw, anomalies, trends, alerts, shift, grouped))
    return Report(window, start, end, versions)


def rule_figures(vw: VersionWindow) -> dict[str, Any]:
    """What alert rules read: the window's figures and each KPI's as ``kpi.NAME.FIGURE``."""
    return {**vw.totals.figures(), **flat_kpi_figures(vw.totals.kpis)}


def _evaluate(
    vw: VersionWindow, rules: Sequence[AlertRule], figures: dict[str, Any], now: datetime
) -> list[Alert]:
    alerts = []
    for rule in rules:
        value = rule.fires(figures)
        if value is not None:
            message = f"{vw.model} v{vw.version}: {rule.metric} = {value:.4g} {rule.op} {rule.threshold:g}"
            alerts.append(
                Alert(
                    0,
                    rule.name,
                    vw.model,
                    vw.version,
                    str(rule.severity),
                    "firing",
                    message,
                    value,
                    rule.threshold,
                    1,
                    now,
                    now,
                    None,
                )
            )
    return alerts
