"""Everything one server process holds, created at start-up and shared by the routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import numpy as np

from mlpy.errors import MlpyError
from mlpy.predlog import LoggedPrediction, PredictionLogger
from mlpy.registry import ModelRegistry
from mlpy_server.auth import Authenticator
from mlpy_server.cache import LoadOptions, ModelCache, ModelLoader
from mlpy_server.errors import InvalidInputError, ServerError
from mlpy_server.metrics import ServerMetrics
from mlpy_server.served import ServedModel
from mlpy_server.settings import ServerSettings

if TYPE_CHECKING:
    from mlpy_server.router import Router

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
            LoadOptions(settings.trust_pickle, tuple(settings.trusted_types), settings.fast_predict),
        )
        self._registry: ModelRegistry | None = None
        self._registry_lock = threading.Lock()
        self.predlog: PredictionLogger | None = None
        self.monitoring: Any = None
        self.router: Router | None = None
        if settings.router_mode:
            from mlpy_server.router import Router, load_experiment

            self.router = Router(load_experiment(settings), self.metrics, settings.upstream_timeout_s)
        self._tasks: list[asyncio.Task[Any]] = []
        self.metrics.watch(self.cache, lambda: self.predlog)

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
            self.predlog = PredictionLogger(
                self.settings.predlog_store_url or self.settings.locations.store,
                sample_rate=self.settings.predlog_sample_rate,
                queue_size=self.settings.predlog_queue_size,
                batch_size=self.settings.predlog_batch_size,
            )
            self.predlog.start()
        if self.settings.monitoring:
            from mlpy.monitoring import MonitoringRecorder

            # Flushed by our own task below, never inline on a request.
            self.monitoring = MonitoringRecorder(self.settings.locations.store, flush_interval_s=1e12)
            self._tasks.append(asyncio.create_task(self._flush_monitoring()))
        loading = [asyncio.create_task(self._load_until_ready(model_id)) for model_id in self.configured_ids]
        self._tasks += loading
        if loading and self.settings.startup_load_wait_s > 0:
            # Still starting: the listening socket's connections go to workers that finished loading.
            await asyncio.wait(loading, timeout=self.settings.startup_load_wait_s)

    async def stop(self) -> None:
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

    async def _flush_monitoring(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            try:
                await anyio.to_thread.run_sync(self.monitoring.flush)
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

    async def predict(self, served: ServedModel, matrix: Any) -> np.ndarray:
        """Small requests predict right here (a thread hop costs more); large ones in a worker thread."""
        try:
            if len(matrix) <= self.settings.inline_rows:
                return served.predict(matrix)
            return await anyio.to_thread.run_sync(served.predict, matrix)
        except ValueError as exc:
            # sklearn refuses the input (a category it never saw, a shape it cannot take): the caller's fault.
            raise InvalidInputError(f"{served.ref} cannot predict on this input: {exc}") from exc

    async def probabilities(self, served: ServedModel, matrix: Any) -> np.ndarray:
        try:
            return np.asarray(await anyio.to_thread.run_sync(served.model.predict_proba, matrix))
        except ValueError as exc:
            raise InvalidInputError(f"{served.ref} cannot predict on this input: {exc}") from exc

    def log_prediction(
        self,
        request_id: str,
        served: ServedModel,
        rows: Any,
        predictions: np.ndarray,
        latency_s: float,
        variant: str | None = None,
    ) -> None:
        """Count, and hand to the log and monitoring; arrays go as they are (the writer converts them)."""
        self.metrics.predicted(served.name, served.version, len(predictions))
        if self.predlog is not None:
            self.predlog.offer(
                LoggedPrediction(
                    request_id,
                    served.name,
                    served.version,
                    rows,
                    predictions,
                    variant=variant,
                    feature_names=served.feature_names,
                )
            )
        if self.monitoring is not None:
            one = len(predictions) == 1 and predictions.dtype.kind in "iuf"
            number = float(predictions[0]) if one else None
            try:
                self.monitoring.record_request(served.name, served.version, latency_s, prediction=number)
            except MlpyError as exc:
                log.debug("monitoring skipped a request: %s", exc)
