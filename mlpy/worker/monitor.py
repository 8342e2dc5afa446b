"""The scheduled monitor: drift checks of each model's recent inputs and the performance report, with
their figures on one Prometheus endpoint (or pushed to a Pushgateway, as the CronJob does).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from mlpy.drift import DriftCollector, push, record
from mlpy.errors import MlpyError
from mlpy.monitoring import MonitoringCollector, Window, build_report
from mlpy.registry import ModelRegistry
from mlpy.store import open_store
from mlpy.worker.drift_window import DriftSettings, WindowCheck, check_window

log = logging.getLogger("mlpy.worker.monitor")


@dataclass
class RunSummary:
    checks: list[dict[str, Any]] = field(default_factory=list)
    alerts_firing: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"checks": self.checks, "alerts_firing": self.alerts_firing}


class Monitor:
    """Holds the latest results between runs so every scrape sees them."""

    def __init__(
        self,
        store_url: str,
        artifacts: str | None,
        targets: Sequence[DriftSettings],
        *,
        window: Window = Window.hourly,
        pushgateway: str | None = None,
    ) -> None:
        self.store = open_store(store_url)
        self.store_url = store_url
        self.registry = ModelRegistry(self.store, artifacts)
        self.targets = list(targets)
        self.window = window
        self.pushgateway = pushgateway
        self.metrics = CollectorRegistry()
        self.drift = DriftCollector()
        self.metrics.register(self.drift)
        self.metrics.register(MonitoringCollector(self.store, window))
        self.runs = Counter(
            "mlpy_monitor_checks", "Scheduled checks by model and outcome.", ["model", "outcome"],
            registry=self.metrics,
        )  # fmt: skip
        self.last_run = Gauge(
            "mlpy_monitor_last_run_timestamp_seconds", "When the monitor last finished a run.",
            registry=self.metrics,
        )  # fmt: skip

    def check(self, settings: DriftSettings) -> dict[str, Any]:
        """One model; a failure is reported and counted, never raised, so other models still run."""
        try:
            result: WindowCheck = check_window(settings, self.store, self.registry)
        except MlpyError as exc:
            log.warning("drift check of %s failed: %s", settings.model, exc)
            self.runs.labels(settings.model, "error").inc()
            return {"model": settings.model, "outcome": "error", "error": str(exc)}
        if result.report is None:
            self.runs.labels(settings.model, "skipped").inc()
            return {
                "model": settings.model,
                "outcome": "skipped",
                "rows": result.rows,
                "reason": result.skipped,
            }
        report = result.report
        record(report, store=self.store_url, dataset=settings.model)
        self.drift.update(report, settings.model)
        if self.pushgateway:
            push(report, self.pushgateway, dataset=settings.model)
        outcome = "drift" if report.dataset_drift else "ok"
        self.runs.labels(settings.model, outcome).inc()
        return {
            "model": settings.model,
            "outcome": outcome,
            "rows": result.rows,
            "drift_share": report.drift_share,
            "drifted": sorted(report.drifted_features),
        }

    def run_once(self) -> RunSummary:
        summary = RunSummary([self.check(target) for target in self.targets])
        try:
            report = build_report(self.store, self.window, record_alerts=True)
            summary.alerts_firing = sum(len(v.alerts) for v in report.versions)
        except MlpyError as exc:
            log.warning("performance report failed: %s", exc)
        self.last_run.set_to_current_time()
        return summary

    def serve_metrics(self, port: int, host: str = "0.0.0.0") -> None:
        start_http_server(port, addr=host, registry=self.metrics)

    def loop(self, interval_s: float, stop: threading.Event) -> None:
        """Run now, then every ``interval_s`` seconds measured start to start, until ``stop`` is set."""
        while not stop.is_set():
            started = time.monotonic()
            summary = self.run_once()
            log.info("monitor run: %s", summary.to_dict())
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))
