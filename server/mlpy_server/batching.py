"""Adaptive batching: small requests for one model that arrive together share one ``predict`` call.

A request never waits for company that is not coming: when nothing is being predicted for its model,
its rows go to ``predict`` at once. Requests arriving while a call runs queue up; when the call ends,
the queue is merged into the next one (up to ``max_rows`` rows), after waiting at most ``max_wait_s``
for more to join. So under light load nothing is added, and under heavy load a tree ensemble answers
many rows for little more than the price of one (its per-call input checks dominate a single row).

Each request keeps its own answer. A merged call that fails is retried request by request, so only
the request whose rows cannot be predicted gets the error. When any request of a batch asks for class
probabilities, the merged call computes them for all its rows (one more call at most, or none for a
compiled classifier, whose labels come from its probabilities).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpy_server.served import Answer


@dataclass(frozen=True)
class BatchPolicy:
    """``max_rows`` at most in one call (1 or less: batching off); ``max_wait_s`` at most added."""

    max_rows: int = 0
    max_wait_s: float = 0.005

    @property
    def enabled(self) -> bool:
        return self.max_rows > 1


@dataclass
class _Waiting:
    rows: Any
    probabilities: bool
    answer: asyncio.Future[Answer]


# Predicts rows, with their class probabilities when the flag is set.
Predict = Callable[[Any, bool], Awaitable[Answer]]


class ModelBatcher:
    """The queue of one loaded model; ``predict`` in its place for requests of fewer than max rows."""

    def __init__(self, predict: Predict, policy: BatchPolicy) -> None:
        self._predict = predict
        self.policy = policy
        self._queue: list[_Waiting] = []
        self._busy = False
        self._arrived = asyncio.Event()
        self.calls = 0  # predict calls made, and the requests they answered (for /models and metrics)
        self.requests = 0

    async def predict(self, rows: Any, probabilities: bool = False) -> Answer:
        if not self._busy:
            # Nothing running for this model: no one to wait for, predict now.
            self._busy = True
            try:
                return await self._call([rows], probabilities)
            finally:
                self._busy = False
                if self._queue:
                    self._start_draining()
        waiting = _Waiting(rows, probabilities, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        self._arrived.set()
        return await waiting.answer

    def _start_draining(self) -> None:
        self._busy = True
        task = asyncio.get_running_loop().create_task(self._drain())
        task.add_done_callback(_keep_failures_visible)

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._gather()
                batch, self._queue = _take(self._queue, self.policy.max_rows)
                try:
                    results = await self._split_call(batch)
                except BaseException as exc:  # cancelled: every waiting request learns it
                    for waiting in batch:
                        if not waiting.answer.done():
                            waiting.answer.set_exception(exc)
                    raise
                for waiting, result in zip(batch, results, strict=True):
                    if waiting.answer.done():
                        continue
                    if isinstance(result, BaseException):
                        waiting.answer.set_exception(result)
                    else:
                        waiting.answer.set_result(result)
        finally:
            self._busy = False

    async def _gather(self) -> None:
        """Wait (at most max_wait_s) for the queue to fill: load is evidently concurrent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.max_wait_s
        while _rows(self._queue) < self.policy.max_rows:
            left = deadline - loop.time()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return

    async def _split_call(self, batch: list[_Waiting]) -> list[Answer | BaseException]:
        """One call for the batch; if it fails, one per request, each with its own outcome."""
        try:
            merged = await self._call([w.rows for w in batch], any(w.probabilities for w in batch))
        except Exception:
            if len(batch) == 1:
                raise
            results: list[Answer | BaseException] = []
            for waiting in batch:
                try:
                    results.append(await self._call([waiting.rows], waiting.probabilities))
                except Exception as exc:
                    results.append(exc)
            return results
        return list(merged.split([len(w.rows) for w in batch]))

    async def _call(self, parts: Sequence[Any], probabilities: bool) -> Answer:
        self.calls += 1
        self.requests += len(parts)
        return await self._predict(parts[0] if len(parts) == 1 else concatenate(parts), probabilities)


def concatenate(parts: Sequence[Any]) -> Any:
    """Rows of several requests as one input: arrays stacked, DataFrames (named columns) appended."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    import pandas as pd

    return pd.concat(parts, ignore_index=True)


def _rows(queue: list[_Waiting]) -> int:
    return sum(len(w.rows) for w in queue)


def _take(queue: list[_Waiting], max_rows: int) -> tuple[list[_Waiting], list[_Waiting]]:
    """The first requests of the queue up to max_rows rows (at least one), and the rest."""
    taken, rows = 0, 0
    for waiting in queue:
        if taken and rows + len(waiting.rows) > max_rows:
            break
        taken += 1
        rows += len(waiting.rows)
    return queue[:taken], queue[taken:]


def _keep_failures_visible(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        task.get_loop().call_exception_handler(
            {"message": "the batch queue stopped", "exception": task.exception(), "task": task}
        )
