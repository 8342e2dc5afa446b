"""Everything one server process holds and its life cycle: loading, readiness, the background writers.

The per-request work (predicting, counting, logging) is the data plane's (dataplane.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from mlpy.errors import MlpyError
from mlpy.predlog import PredictionLogger
from mlpy.registry import ModelRegistry
from mlpy_server.auth import Authenticator
from mlpy_server.batching import BatchPolicy
from mlpy_server.cache import LoadOptions, ModelCache, ModelLoader
from mlpy_server.dataplane import DataPlane
from mlpy_server.errors import ServerError
from mlpy_server.metrics import ServerMetrics
from mlpy_server.served import ServedModel
from mlpy_server.settings import ServerSettings

if TYPE_CHECKING:
    from mlpy.monitoring import MonitoringRecorder
    from mlpy_server.router import ABRouter
    from mlpy_server.v2_grpc import GrpcEndpoint

log = logging.getLogger("mlpy.server")


@dataclass
class Readiness:
    """Ready once every configured model is loaded and verified; the reasons say why not yet."""

    expected: set[str] = field(default_factory=set)
    problems: dict[str, str] = field(default_factory=dict)

    def pending(self, cache: ModelCache) -> list[str]:
        loaded = set(cache.ids())
        return sorted(self.expected - loaded)


class ServerState:
    def __init__(self, settings: ServerSettings, metrics: ServerMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or ServerMetrics()
        self.auth = Authenticator(settings)
        self.cache = ModelCache()
        self.readiness = Readiness()
        uri_models = {}
        if settings.uri_model is not None:
            uri_models[settings.uri_model.name] = settings.uri_model
        self.loader = ModelLoader(
            self.registry,
            uri_models,
            LoadOptions(
                settings.trust_pickle, tuple(settings.trusted_types), settings.fast_predict, settings.compiled
            ),
        )
        self._registry: ModelRegistry | None = None
        self._registry_lock = threading.Lock()
        self.plane = DataPlane(
            self.cache,
            self.metrics,
            inline_rows=settings.inline_rows,
            max_batch_rows=settings.max_batch_rows,
            batching=BatchPolicy(settings.batching_max_rows, settings.batching_max_wait_s),
            model_batching={name: BatchPolicy(rows, wait) for name, rows, wait in settings.batching_models},
        )
        self.router: ABRouter | None = None
        if settings.router_mode:
            from mlpy_server.router import ABRouter
            from mlpy_server.router_plan import load_experiment

            self.router = ABRouter(load_experiment(settings), self.metrics, settings.upstream_timeout_s)
        self._tasks: list[asyncio.Task[Any]] = []
        self.grpc: GrpcEndpoint | None = None
        self.grpc_port: int | None = None  # the port bound, once the gRPC endpoint serves
        self.metrics.watch(self.cache, lambda: self.predlog, self.plane.batching_counts)

    @property
    def predlog(self) -> PredictionLogger | None:
        return self.plane.predlog

    @property
    def monitoring(self) -> MonitoringRecorder | None:
        return self.plane.monitoring

    # ----------------------------------------------------------------- life cycle
    @property
    def configured_ids(self) -> list[str]:
        ids = list(self.settings.models)
        if self.settings.uri_model is not None:
            ids.append(self.settings.uri_model.name)
        return ids

    async def start(self) -> None:
        """Start the background writers and begin loading; probes report progress meanwhile."""
        self.readiness.expected = set(self.configured_ids)
        if self.router is not None:
            await self.router.start()
        if self.settings.predlog_sample_rate > 0:
            predlog = PredictionLogger(
                self.settings.predlog_store_url or self.settings.locations.store,
                sample_rate=self.settings.predlog_sample_rate,
                queue_size=self.settings.predlog_queue_size,
                batch_size=self.settings.predlog_batch_size,
            )
            predlog.start()
            self.plane.predlog = predlog
        if self.settings.monitoring:
            from mlpy.monitoring import MonitoringRecorder

            # Flushed by our own task below, never inline on a request.
            recorder = MonitoringRecorder(self.settings.locations.store, flush_interval_s=1e12)
            self.plane.monitoring = recorder
            self._tasks.append(asyncio.create_task(self._flush_monitoring(recorder)))
        if self.settings.grpc_port is not None:
            await self._start_grpc(self.settings.grpc_port)
        loading = [asyncio.create_task(self._load_until_ready(model_id)) for model_id in self.configured_ids]
        self._tasks += loading
        if loading and self.settings.startup_load_wait_s > 0:
            # Still starting: the listening socket's connections go to workers that finished loading.
            await asyncio.wait(loading, timeout=self.settings.startup_load_wait_s)

    async def _start_grpc(self, port: int) -> None:
        if self.router is not None:
            raise ServerError(
                "the A/B router forwards HTTP only, not gRPC",
                hint="unset MLPY_GRPC_PORT for the router; clients reach the variants' gRPC ports directly",
            )
        from mlpy_server.v2_grpc import GrpcEndpoint, InferenceService

        service = InferenceService(self.plane, self.auth, self.metrics, self.ready)
        host = self.settings.grpc_host
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        endpoint = GrpcEndpoint(service, address, self.settings.max_body_bytes)
        self.grpc_port = await endpoint.start()
        self.grpc = endpoint

    async def stop(self) -> None:
        if self.grpc is not None:
            await self.grpc.stop()
            self.grpc = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.router is not None:
            await self.router.stop()
        if self.predlog is not None:
            await anyio.to_thread.run_sync(self.predlog.stop)
        if self.monitoring is not None:
            await anyio.to_thread.run_sync(self.monitoring.flush)

    def registry(self) -> ModelRegistry:
        with self._registry_lock:
            if self._registry is None:
                locations = self.settings.locations
                self._registry = ModelRegistry(locations.store, locations.artifacts)
            return self._registry

    async def _load_until_ready(self, model_id: str) -> None:
        delay = 0.5
        while True:
            try:
                await self.load(model_id)
                self.readiness.problems.pop(model_id, None)
                return
            except ServerError as exc:
                self.readiness.problems[model_id] = str(exc)
                log.warning("model %s not loaded, retrying in %.1fs: %s", model_id, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.load_retry_max_s)

    async def _flush_monitoring(self, recorder: MonitoringRecorder) -> None:
        while True:
            await asyncio.sleep(5.0)
            try:
                await anyio.to_thread.run_sync(recorder.flush)
            except MlpyError as exc:
                log.warning("monitoring flush failed: %s", exc)

    # ----------------------------------------------------------------- models
    async def load(self, model_id: str) -> tuple[ServedModel, ServedModel | None]:
        """Build the model completely off the event loop, then swap it in with one assignment."""
        try:
            served = await anyio.to_thread.run_sync(self.loader.load, model_id)
        except ServerError:
            self.metrics.reloads.labels(model_id, "failed").inc()
            raise
        previous = self.cache.put(model_id, served)
        self.metrics.reloads.labels(model_id, "loaded").inc()
        # What is alive now (the libraries, the models) lives as long as the process: out of the
        # collector's sight, a full collection no longer walks it while requests wait (p99).
        gc.freeze()
        log.info(
            "model %s serving %s",
            model_id,
            served.ref,
            extra={"sha256": served.sha256, "source": served.source},
        )
        return served, previous

    def ready(self) -> tuple[bool, str]:
        pending = self.readiness.pending(self.cache)
        if pending:
            reasons = "; ".join(f"{m}: {self.readiness.problems.get(m, 'loading')}" for m in pending)
            return False, f"waiting for {reasons}"
        if not self.configured_ids and not len(self.cache) and self.router is None:
            return False, "no model configured: pass --model ID or set MLPY_SERVE_MODELS or MLPY_MODEL_URI"
        return True, "ready"
