"""The request work every protocol shares: find the model, predict, and record what was predicted.

Protocol-neutral, as MLServer's data plane is: the native API (api.py) and the Open Inference Protocol
(v2.py) each turn their body into a feature matrix, call here, and encode the answer their own way.
``ServerState`` keeps the life cycle (loading, readiness, the background writers it hands in here).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import numpy as np

from mlpy.errors import MlpyError
from mlpy.predlog import LoggedPrediction, PredictionLogger
from mlpy_server.batching import BatchPolicy, ModelBatcher
from mlpy_server.cache import ModelCache
from mlpy_server.errors import InvalidInputError
from mlpy_server.metrics import BatchingCount, ServerMetrics
from mlpy_server.served import Answer, ServedModel

if TYPE_CHECKING:
    from mlpy.monitoring import MonitoringRecorder

log = logging.getLogger("mlpy.server")


class DataPlane:
    """Predictions on the loaded models, counted, logged and recorded for monitoring.

    ``predlog`` and ``monitoring`` are set by the server's start-up when they are enabled.
    """

    def __init__(
        self,
        cache: ModelCache,
        metrics: ServerMetrics,
        *,
        inline_rows: int,
        max_batch_rows: int,
        batching: BatchPolicy | None = None,
        model_batching: Mapping[str, BatchPolicy] | None = None,
    ):
        self.cache = cache
        self.metrics = metrics
        self.inline_rows = inline_rows
        self.max_batch_rows = max_batch_rows
        self.batching = batching or BatchPolicy()
        # By model name, in place of the server's default.
        self.model_batching = dict(model_batching or {})
        # By id of the loaded model (kept alongside, so the id stays its own); pruned when one is replaced.
        self._batchers: dict[int, tuple[ServedModel, ModelBatcher]] = {}
        self.predlog: PredictionLogger | None = None
        self.monitoring: MonitoringRecorder | None = None

    def model(self, model_id: str | None) -> ServedModel:
        """The loaded model an id names (``name``, ``name:VERSION``, ``name@ALIAS``), or the only one."""
        return self.cache.get(model_id)

    def model_version(self, name: str, version: str | None) -> ServedModel:
        return self.cache.get_version(name, version)

    async def infer(
        self,
        served: ServedModel,
        matrix: Any,
        rows: Any,
        *,
        request_id: str,
        started: float,
        variant: str | None,
        probabilities: bool = False,
        groups: Mapping[str, list[Any]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Predict (and the class probabilities when asked), then count and log the request.

        ``rows`` (and ``groups``, the checked group attributes) are what the prediction log stores;
        ``started`` is the request's perf_counter arrival, for the latency monitoring records.
        """
        answer = await self.answer(served, matrix, probabilities)
        latency_s = time.perf_counter() - started
        self.record(request_id, served, rows, answer.predictions, latency_s, variant, groups)
        return answer.predictions, answer.probabilities if probabilities else None

    async def answer(self, served: ServedModel, matrix: Any, probabilities: bool = False) -> Answer:
        """Small requests predict right here (a thread hop costs more), or merged with others arriving
        together when batching is on (batching.py); large ones in a worker thread. The probabilities,
        when asked, come from the same call."""
        try:
            batcher = self.batcher(served)
            if batcher is not None and len(matrix) < batcher.policy.max_rows:
                return await batcher.predict(matrix, probabilities)
            if len(matrix) <= self.inline_rows:
                return served.answer(matrix, probabilities)
            return await anyio.to_thread.run_sync(served.answer, matrix, probabilities)
        except ValueError as exc:
            # sklearn refuses the input (a category it never saw, a shape it cannot take): the caller's fault.
            raise InvalidInputError(f"{served.ref} cannot predict on this input: {exc}") from exc

    def describe(self, served: ServedModel) -> dict[str, Any]:
        """The model as ``GET /models`` shows it, with how its requests are predicted: the linear
        shortcut (``fast_path``), or batched (calls and the requests they answered), or one by one."""
        batching = None
        policy = self.policy(served)
        if policy.enabled and served.shortcut is None:
            # Looked up, not made: showing a model must not start a queue for it.
            queue = self._existing_batcher(served)
            calls, answered = (queue.calls, queue.requests) if queue is not None else (0, 0)
            batching = {
                "max_rows": policy.max_rows,
                "max_wait_ms": policy.max_wait_s * 1000,
                "calls": calls,
                "requests": answered,
            }
        return {**served.describe(), "batching": batching}

    def policy(self, served: ServedModel) -> BatchPolicy:
        """The model's own batching (MLPY_BATCHING_MODELS), else the server's."""
        return self.model_batching.get(served.name, self.batching)

    def batching_counts(self) -> list[BatchingCount]:
        """Each loaded model's batching calls and the requests they answered, for /metrics."""
        live = {id(served) for _, served in self.cache.items()}
        return [
            BatchingCount(served.name, served.version, batcher.calls, batcher.requests)
            for key, (served, batcher) in list(self._batchers.items())
            if key in live
        ]

    def loaded_models(self) -> list[dict[str, Any]]:
        return [{"id": model_id, **self.describe(served)} for model_id, served in self.cache.items()]

    def batcher(self, served: ServedModel) -> ModelBatcher | None:
        """The model's batching queue; none when batching is off or the linear shortcut answers (it
        takes microseconds: nothing to share)."""
        policy = self.policy(served)
        if not policy.enabled or served.shortcut is not None:
            return None
        existing = self._existing_batcher(served)
        if existing is not None:
            return existing
        live = {id(s) for _, s in self.cache.items()}
        self._batchers = {key: value for key, value in self._batchers.items() if key in live}

        async def predict(rows: Any, probabilities: bool) -> Answer:
            return await anyio.to_thread.run_sync(served.answer, rows, probabilities)

        batcher = ModelBatcher(predict, policy)
        self._batchers[id(served)] = (served, batcher)
        return batcher

    def _existing_batcher(self, served: ServedModel) -> ModelBatcher | None:
        """The queue made for this very loaded model (an id can be reused after a reload)."""
        entry = self._batchers.get(id(served))
        return entry[1] if entry is not None and entry[0] is served else None

    def record(
        self,
        request_id: str,
        served: ServedModel,
        rows: Any,
        predictions: np.ndarray,
        latency_s: float,
        variant: str | None = None,
        groups: Mapping[str, list[Any]] | None = None,
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
                    groups=groups,
                )
            )
        if self.monitoring is not None:
            one = len(predictions) == 1 and predictions.dtype.kind in "iuf"
            number = float(predictions[0]) if one else None
            try:
                self.monitoring.record_request(served.name, served.version, latency_s, prediction=number)
            except MlpyError as exc:
                log.debug("monitoring skipped a request: %s", exc)
