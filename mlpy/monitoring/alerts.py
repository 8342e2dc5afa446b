"""Threshold alert rules, evaluated on window summaries and kept deduplicated in the metadata store."""

from __future__ import annotations

import enum
import hashlib
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from mlpy.monitoring.errors import InvalidRuleError
from mlpy.monitoring.kpi import KPI_FIGURES, PREFIX, parse_kpi_metric
from mlpy.monitoring.tables import AlertRow
from mlpy.store import Store

RULE_METRICS = (
    "requests",
    "error_rate",
    "latency_mean",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "latency_max",
    "prediction_mean",
    "prediction_sd",
    "mae",
    "rmse",
    "accuracy",
)
# Read per sensitive feature from a fairness report (mlpy.monitoring.fairness): the rule fires on the
# worst attribute whose every group has at least ``min_requests`` labelled samples.
FAIRNESS_METRICS = ("demographic_parity_difference", "equalized_odds_difference")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class Severity(enum.StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


@dataclass(frozen=True, slots=True)
class AlertRule:
    """``metric op threshold``, e.g. ``error_rate > 0.05`` or ``kpi.revenue.mean < 10``; ignored below
    ``min_requests`` requests (noise), or for a KPI figure below that many values of the KPI.

    For a fairness metric (``demographic_parity_difference > 0.1``) ``min_requests`` is the fewest
    labelled samples each group of an attribute needs before its gap counts.
    """

    name: str
    metric: str
    op: str
    threshold: float
    severity: Severity = Severity.warning
    min_requests: int = 20

    def __post_init__(self) -> None:
        known = self.metric in RULE_METRICS or self.metric in FAIRNESS_METRICS
        if not known and parse_kpi_metric(self.metric) is None:
            raise InvalidRuleError(
                f"rule {self.name!r}: unknown metric {self.metric!r}",
                hint=f"use one of: {', '.join(RULE_METRICS + FAIRNESS_METRICS)}, or kpi.NAME.FIGURE with "
                f"FIGURE one of {', '.join(KPI_FIGURES)}",
            )
        if self.op not in _OPERATORS:
            raise InvalidRuleError(
                f"rule {self.name!r}: unknown operator {self.op!r}", hint="use >, >=, < or <="
            )

    def fires(self, figures: Mapping[str, Any]) -> float | None:
        """The offending value when the rule fires on these figures, else None."""
        if self.metric in FAIRNESS_METRICS:
            return self._fires_on_groups(figures.get("fairness") or {})
        value = figures.get(self.metric)
        kpi = parse_kpi_metric(self.metric)
        samples = figures.get("requests") if kpi is None else figures.get(f"{PREFIX}{kpi[0]}.count")
        if value is None or (samples or 0) < self.min_requests:
            return None
        return float(value) if _OPERATORS[self.op](float(value), self.threshold) else None

    def _fires_on_groups(self, attributes: Mapping[str, Mapping[str, Any]]) -> float | None:
        """The worst firing gap among attributes whose smallest group is large enough, else None."""
        compare = _OPERATORS[self.op]
        firing = [
            float(found[self.metric])
            for found in attributes.values()
            if found.get(self.metric) is not None
            and (found.get("min_group_samples") or 0) >= self.min_requests
            and compare(float(found[self.metric]), self.threshold)
        ]
        if not firing:
            return None
        return max(firing) if self.op in {">", ">="} else min(firing)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertRule:
        try:
            return cls(
                name=str(data["name"]),
                metric=str(data["metric"]),
                op=str(data.get("op", ">")),
                threshold=float(data["threshold"]),
                severity=Severity(str(data.get("severity", "warning"))),
                min_requests=int(data.get("min_requests", 20)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRuleError(
                f"bad alert rule {dict(data)!r}: {exc!r}", hint="name, metric, op, threshold, severity"
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metric": self.metric,
            "op": self.op,
            "threshold": self.threshold,
            "severity": str(self.severity),
            "min_requests": self.min_requests,
        }


DEFAULT_RULES = (
    AlertRule("error-rate-high", "error_rate", ">", 0.05, Severity.warning),
    AlertRule("error-rate-critical", "error_rate", ">", 0.20, Severity.critical),
    AlertRule("latency-p95-high", "latency_p95", ">", 1.0, Severity.warning),
)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    rule: str
    model: str
    version: str
    severity: str
    state: str
    message: str
    value: float
    threshold: float
    occurrences: int
    first_at: datetime
    last_at: datetime
    resolved_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "model": self.model,
            "version": self.version,
            "severity": self.severity,
            "state": self.state,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
            "occurrences": self.occurrences,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "resolved_at": None if self.resolved_at is None else self.resolved_at.isoformat(),
        }


def _alert(row: AlertRow) -> Alert:
    return Alert(
        row.id,
        row.rule,
        row.model,
        row.version,
        row.severity,
        row.state,
        row.message,
        row.value,
        row.threshold,
        row.occurrences,
        row.first_at,
        row.last_at,
        row.resolved_at,
    )


def fingerprint(rule: AlertRule, model: str, version: str) -> str:
    return hashlib.sha256(f"{rule.name}\x00{rule.metric}\x00{model}\x00{version}".encode()).hexdigest()[:32]


class AlertLog:
    """Firing rules open an alert once; while they keep firing the same alert is updated (occurrences,
    last value); when a rule stops firing its alert is resolved. So a check every minute pages once."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def sync(
        self, model: str, version: str, rules: Sequence[AlertRule], figures: Mapping[str, Any], now: datetime
    ) -> list[Alert]:
        """Evaluate ``rules`` on ``figures`` and update the log; returns the alerts firing now."""
        firing: list[Alert] = []
        with self.store.session() as session:
            for rule in rules:
                key = fingerprint(rule, model, version)
                if self.store.dialect == "postgresql":
                    # Two reporters at once must not both open the alert (SQLite serialises anyway).
                    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)})
                query = select(AlertRow).where(AlertRow.fingerprint == key, AlertRow.state == "firing")
                open_row = session.scalars(query).first()
                value = rule.fires(figures)
                if value is None:
                    if open_row is not None:
                        open_row.state, open_row.resolved_at = "resolved", now
                    continue
                message = f"{model} v{version}: {rule.metric} = {value:.4g} {rule.op} {rule.threshold:g}"
                if open_row is None:
                    open_row = AlertRow(
                        fingerprint=key,
                        rule=rule.name,
                        model=model,
                        version=version,
                        severity=str(rule.severity),
                        state="firing",
                        message=message,
                        value=value,
                        threshold=rule.threshold,
                        occurrences=1,
                        first_at=now,
                        last_at=now,
                    )
                    session.add(open_row)
                else:
                    open_row.occurrences += 1
                    open_row.value, open_row.message, open_row.last_at = value, message, now
                session.flush()
                firing.append(_alert(open_row))
        return firing

    def list(self, state: str | None = "firing", model: str | None = None) -> list[Alert]:
        query = select(AlertRow).order_by(AlertRow.first_at, AlertRow.id)
        if state is not None:
            query = query.where(AlertRow.state == state)
        if model is not None:
            query = query.where(AlertRow.model == model)
        with self.store.session() as session:
            return [_alert(row) for row in session.scalars(query)]


def load_rules(entries: Iterable[Mapping[str, Any]]) -> list[AlertRule]:
    return [AlertRule.from_dict(entry) for entry in entries]
