"""The request work every protocol shares: find the model, predict, and record what was predicted.

Protocol-neutral, as MLServer's data plane is: the native API (api.py) and the Open Inference Protocol
(v2.py) each turn their body into a feature matrix, call here, and encode the answer their own way.
``ServerState`` keeps the life cycle (loading, readiness, the background writers it hands in here).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import numpy as np

from mlpy.errors import MlpyError
from mlpy.predlog import LoggedPrediction, PredictionLogger
from mlpy_server.cache import ModelCache
from mlpy_server.errors import InvalidInputError
from mlpy_server.metrics import ServerMetrics
from mlpy_server.served import ServedModel

if TYPE_CHECKING:
    from mlpy.monitoring import MonitoringRecorder

log = logging.getLogger("mlpy.server")


class DataPlane:
    """Predictions on the loaded models, counted, logged and recorded for monitoring.

    ``predlog`` and ``monitoring`` are set by the server's start-up when they are enabled.
    """

    def __init__(self, cache: ModelCache, metrics: ServerMetrics, *, inline_rows: int, max_batch_rows: int):
        self.cache = cache
        self.metrics = metrics
        self.inline_rows = inline_rows
        self.max_batch_rows = max_batch_rows
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
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Predict (and the class probabilities when asked), then count and log the request.

        ``rows`` are what the prediction log stores; ``started`` is the request's perf_counter arrival,
        for the latency monitoring records.
        """
        predictions = await self.predict(served, matrix)
        proba = await self.probabilities(served, matrix) if probabilities else None
        self.record(request_id, served, rows, predictions, time.perf_counter() - started, variant)
        return predictions, proba

    async def predict(self, served: ServedModel, matrix: Any) -> np.ndarray:
        """Small requests predict right here (a thread hop costs more); large ones in a worker thread."""
        try:
            if len(matrix) <= self.inline_rows:
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

    def record(
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
