"""Prometheus metrics: one registry per app, label children cached so a request costs two lookups.

Gauges that describe state (loaded models, prediction log queue) are computed at scrape time by a
collector, so the request path never touches them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mlpy.predlog import PredictionLogger
from mlpy_server.cache import ModelCache

# Sub-millisecond resolution: a fast model answers in a few hundred microseconds.
LATENCY_BUCKETS = (
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
NO_MODEL = ("", "")
# The standard process_* and python_* series (memory, CPU, file descriptors, GC), as every Prometheus
# client exposes them; the request path never touches them.
STANDARD_COLLECTORS = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)


class BatchingCount(NamedTuple):
    model: str
    version: str
    calls: int
    requests: int


class ServerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        for standard in STANDARD_COLLECTORS:
            self.registry.register(standard)
        self.latency = Histogram(
            "mlpy_request_duration_seconds",
            "Time from request start to the last byte of the response.",
            ("endpoint", "model", "version"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "mlpy_requests",
            "Requests by endpoint, model, version and HTTP status.",
            ("endpoint", "model", "version", "status"),
            registry=self.registry,
        )
        self.errors = Counter(
            "mlpy_request_errors",
            "Requests answered with a 4xx or 5xx, by error code.",
            ("endpoint", "model", "version", "code"),
            registry=self.registry,
        )
        self.predictions = Counter(
            "mlpy_predictions",
            "Rows predicted, by model and version.",
            ("model", "version"),
            registry=self.registry,
        )
        self.reloads = Counter(
            "mlpy_model_loads",
            "Model loads and reloads by model id and result.",
            ("model", "result"),
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "mlpy_router_upstream_duration_seconds",
            "Router mode: time the chosen variant's server took to answer.",
            ("variant",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.routed = Counter(
            "mlpy_router_requests",
            "Router mode: requests forwarded, by variant and upstream status.",
            ("variant", "status"),
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, str], Any] = {}
        self._counts: dict[tuple[str, str, str, int], Any] = {}
        self._predicted: dict[tuple[str, str], Any] = {}
        self._state: _StateCollector | None = None

    def observe(self, endpoint: str, model: tuple[str, str], status: int, seconds: float) -> None:
        key = (endpoint, *model)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.latency.labels(*key)
        child.observe(seconds)
        count_key = (endpoint, model[0], model[1], status)
        counter = self._counts.get(count_key)
        if counter is None:
            counter = self._counts[count_key] = self.requests.labels(*key, str(status))
        counter.inc()

    def error(self, endpoint: str, model: tuple[str, str], code: str) -> None:
        self.errors.labels(endpoint, *model, code).inc()

    def predicted(self, model: str, version: str, rows: int) -> None:
        key = (model, version)
        child = self._predicted.get(key)
        if child is None:
            child = self._predicted[key] = self.predictions.labels(model, version)
        child.inc(rows)

    def watch(
        self,
        cache: ModelCache,
        predlog: Callable[[], PredictionLogger | None],
        batching: Callable[[], Iterable[BatchingCount]] = tuple,
    ) -> None:
        self._state = _StateCollector(cache, predlog, batching)
        self.registry.register(self._state)

    def render(self) -> bytes:
        """The exposition text; with several workers, request metrics merged from PROMETHEUS_MULTIPROC_DIR
        (the state gauges are this worker's: every worker loads the same models; process_* and python_*
        are this worker's too, as they cannot be summed, so dashboards keep their memory and CPU series)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            for standard in STANDARD_COLLECTORS:
                merged.register(standard)
            if self._state is not None:
                merged.register(self._state)
            return generate_latest(merged)
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(
        self,
        cache: ModelCache,
        predlog: Callable[[], PredictionLogger | None],
        batching: Callable[[], Iterable[BatchingCount]],
    ) -> None:
        self._cache = cache
        self._predlog = predlog
        self._batching = batching

    def collect(self) -> Iterator[Metric]:
        loaded = GaugeMetricFamily("mlpy_models_loaded", "Models this server holds.")
        loaded.add_metric([], len(self._cache))
        yield loaded
        info = GaugeMetricFamily(
            "mlpy_model_info",
            "One series per loaded model: its version, artifact hash and the code that predicts it.",
            labels=["id", "model", "version", "sha256", "path"],
        )
        for model_id, served in self._cache.items():
            info.add_metric([model_id, served.name, served.version, served.sha256, served.path], 1)
        yield info
        calls = CounterMetricFamily(
            "mlpy_batching_calls", "Adaptive batching: predict calls made.", labels=["model", "version"]
        )
        answered = CounterMetricFamily(
            "mlpy_batching_requests",
            "Adaptive batching: requests those calls answered (over calls: requests per call).",
            labels=["model", "version"],
        )
        for count in self._batching():
            calls.add_metric([count.model, count.version], count.calls)
            answered.add_metric([count.model, count.version], count.requests)
        yield calls
        yield answered
        logger = self._predlog()
        if logger is None:
            return
        counters = logger.counters
        for name, value, text in (
            ("dropped", counters.dropped, "Prediction log samples dropped because the queue was full."),
            ("written", counters.written, "Prediction log rows written to the metadata store."),
            ("failed", counters.failed, "Prediction log rows or outcomes whose write failed."),
            ("outcomes", counters.outcomes, "Outcomes attached to logged predictions."),
            ("connect_failures", counters.connect_failures, "Failed attempts to reach the log's store."),
        ):
            family = CounterMetricFamily(f"mlpy_prediction_log_{name}", text)
            family.add_metric([], value)
            yield family
        depth = GaugeMetricFamily("mlpy_prediction_log_queue_depth", "Requests waiting to be logged.")
        depth.add_metric([], logger.queued)
        yield depth
        up = GaugeMetricFamily(
            "mlpy_prediction_log_up", "1 while the log's store takes writes, 0 while connecting or failing."
        )
        up.add_metric([], 1 if logger.state == "ready" else 0)
        yield up
