"""Prometheus metrics for drift checks: pushed by a batch job, or exposed by a long-running process.

One collector renders the latest report of each dataset on every scrape, so a monitor that re-checks
periodically only hands it the new report; a CronJob builds a dedicated registry and pushes it.
"""

from __future__ import annotations

import threading
import urllib.error
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mlpy.drift.errors import DriftError
from mlpy.drift.report import DriftReport

DEFAULT_JOB = "mlpy_drift"
UNNAMED = "default"


class DriftCollector(Collector):
    """Gauges for the newest report of every dataset it has been given."""

    def __init__(self) -> None:
        self._reports: dict[str, DriftReport] = {}
        self._lock = threading.Lock()

    def update(self, report: DriftReport, dataset: str | None = None) -> None:
        with self._lock:
            self._reports[dataset or UNNAMED] = report

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            reports = dict(self._reports)
        dataset_labels = ["dataset"]
        feature_labels = ["dataset", "feature", "method"]
        verdict = GaugeMetricFamily(
            "mlpy_drift_dataset_drift", "1 when the dataset drifted.", labels=dataset_labels
        )
        share = GaugeMetricFamily("mlpy_drift_share", "Share of columns that drifted.", labels=dataset_labels)
        columns = GaugeMetricFamily("mlpy_drift_columns", "Columns checked.", labels=dataset_labels)
        checked_at = GaugeMetricFamily(
            "mlpy_drift_last_check_timestamp_seconds",
            "When the check ran (Unix time).",
            labels=dataset_labels,
        )
        duration = GaugeMetricFamily(
            "mlpy_drift_check_duration_seconds", "How long the check took.", labels=dataset_labels
        )
        weighted = GaugeMetricFamily(
            "mlpy_drift_importance_weighted",
            "Importance-weighted drift score, 0 to 1 (checks given the model's feature importance).",
            labels=dataset_labels,
        )
        drifted = GaugeMetricFamily(
            "mlpy_drift_feature_drifted", "1 when the column drifted.", labels=feature_labels
        )
        statistic = GaugeMetricFamily(
            "mlpy_drift_feature_statistic", "The column's drift statistic.", labels=feature_labels
        )
        p_value = GaugeMetricFamily(
            "mlpy_drift_feature_p_value", "The column's p-value (tests only).", labels=feature_labels
        )
        null_share = GaugeMetricFamily(
            "mlpy_drift_feature_null_share",
            "Share of null values in the current window.",
            labels=["dataset", "feature"],
        )
        for name, report in sorted(reports.items()):
            verdict.add_metric([name], float(report.dataset_drift))
            share.add_metric([name], report.drift_share)
            columns.add_metric([name], float(len(report.features)))
            checked_at.add_metric([name], report.created_at.timestamp())
            duration.add_metric([name], report.duration_seconds)
            if report.importance_weighted_drift is not None:
                weighted.add_metric([name], report.importance_weighted_drift)
            for feature in report.features.values():
                labels = [name, feature.name, feature.method]
                drifted.add_metric(labels, float(feature.drifted))
                if feature.statistic is not None:
                    statistic.add_metric(labels, feature.statistic)
                if feature.p_value is not None:
                    p_value.add_metric(labels, feature.p_value)
                if feature.null_share.current is not None:
                    null_share.add_metric([name, feature.name], feature.null_share.current)
        yield from (verdict, share, columns, checked_at, duration, weighted, drifted, statistic, p_value)
        yield null_share


def registry_for(report: DriftReport, dataset: str | None = None) -> CollectorRegistry:
    """A registry holding only this report's metrics (nothing of the process's default registry)."""
    registry = CollectorRegistry()
    collector = DriftCollector()
    collector.update(report, dataset)
    registry.register(collector)
    return registry


def exposition(report: DriftReport, dataset: str | None = None) -> str:
    """The report in the Prometheus text format, e.g. for a node-exporter textfile."""
    return generate_latest(registry_for(report, dataset)).decode()


def push(report: DriftReport, gateway: str, *, dataset: str | None = None, job: str = DEFAULT_JOB) -> None:
    """Replace this job's metrics for the dataset on a Pushgateway (the batch-job pattern)."""
    try:
        push_to_gateway(
            gateway,
            job=job,
            registry=registry_for(report, dataset),
            grouping_key={"dataset": dataset or UNNAMED},
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DriftError(
            f"cannot push drift metrics to {gateway!r}: {exc}",
            hint="check the --pushgateway URL and that the Pushgateway is running",
        ) from exc
