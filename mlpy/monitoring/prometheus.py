"""Exporting the monitoring figures to Prometheus: a collector for any registry, and a Pushgateway push."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mlpy.monitoring.alerts import AlertLog
from mlpy.monitoring.errors import ExportError
from mlpy.monitoring.summary import load_windows
from mlpy.monitoring.windows import Window, window_bounds
from mlpy.store import Store, utcnow

_GAUGES = (
    ("requests", "mlpy_model_window_requests", "Requests in the window."),
    ("error_rate", "mlpy_model_window_error_rate", "Share of failed requests in the window."),
    ("latency_mean", "mlpy_model_window_latency_mean_seconds", "Mean request latency in the window."),
    ("prediction_mean", "mlpy_model_window_prediction_mean", "Mean numeric prediction in the window."),
    ("mae", "mlpy_model_window_mae", "Mean absolute error of predictions with feedback in the window."),
    ("rmse", "mlpy_model_window_rmse", "Root mean squared error of predictions with feedback in the window."),
    ("accuracy", "mlpy_model_window_accuracy", "Share of predictions equal to their outcome in the window."),
)

_KPI_GAUGES = (
    ("count", "mlpy_model_window_kpi_count", "Business KPI values recorded in the window (POST /kpi)."),
    ("sum", "mlpy_model_window_kpi_sum", "Sum of a business KPI's values in the window (e.g. revenue)."),
    ("mean", "mlpy_model_window_kpi_mean", "Mean of a business KPI's values in the window."),
)


class MonitoringCollector(Collector):
    """Reads the store on every scrape, so any process (server, operator, a sidecar) can export the figures
    of every replica; register it on a CollectorRegistry."""

    def __init__(self, store: Store, window: Window = Window.hourly) -> None:
        self.store = store
        self.window = window

    def collect(self) -> Iterator[GaugeMetricFamily]:
        start, end = window_bounds(self.window, utcnow())
        labels = ["model", "version", "window"]
        families = {key: GaugeMetricFamily(name, doc, labels=labels) for key, name, doc in _GAUGES}
        latency = GaugeMetricFamily(
            "mlpy_model_window_latency_seconds",
            "Latency percentiles in the window.",
            labels=[*labels, "quantile"],
        )
        kpi_families = {
            key: GaugeMetricFamily(name, doc, labels=[*labels, "kpi"]) for key, name, doc in _KPI_GAUGES
        }
        for vw in load_windows(self.store, start, end, self.window.step):
            figures = vw.totals.figures()
            values = [vw.model, vw.version, str(self.window)]
            for kpi, kpi_totals in sorted(vw.totals.kpis.items()):
                kpi_figures = kpi_totals.figures()
                for key, family in kpi_families.items():
                    if kpi_figures[key] is not None:
                        family.add_metric([*values, kpi], float(kpi_figures[key] or 0.0))
            for key, family in families.items():
                if figures[key] is not None:
                    family.add_metric(values, float(figures[key] or 0.0))
            for q in ("50", "95", "99"):
                value = figures[f"latency_p{q}"]
                if value is not None:
                    latency.add_metric([*values, f"0.{q}"], float(value))
        firing = GaugeMetricFamily(
            "mlpy_model_alerts_firing", "Alerts firing now.", labels=["model", "version", "severity"]
        )
        counts: dict[tuple[str, str, str], int] = {}
        for alert in AlertLog(self.store).list("firing"):
            labels_of = (alert.model, alert.version, alert.severity)
            counts[labels_of] = counts.get(labels_of, 0) + 1
        for labels_of, count in sorted(counts.items()):
            firing.add_metric(list(labels_of), count)
        yield from families.values()
        yield from kpi_families.values()
        yield latency
        yield firing


def registry_for(store: Store, window: Window = Window.hourly) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(MonitoringCollector(store, window))
    return registry


def exposition(store: Store, window: Window = Window.hourly) -> str:
    """The Prometheus text format of the current figures."""
    return generate_latest(registry_for(store, window)).decode()


def push(store: Store, gateway: str, window: Window = Window.hourly, job: str = "mlpy-monitoring") -> None:
    """Push the figures to a Pushgateway (for batch jobs and places Prometheus cannot scrape)."""
    try:
        push_to_gateway(gateway, job=job, registry=registry_for(store, window), timeout=10)
    except OSError as exc:
        raise ExportError(
            f"cannot push to the Pushgateway at {gateway}: {exc}", hint="check the URL and that it runs"
        ) from exc
