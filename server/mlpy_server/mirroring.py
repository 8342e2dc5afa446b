"""The router's shadow copies: a share of the routed requests sent again to the mirror's version after
the served answer is back, compared in the background, and never shown to the client.

Copies are fire-and-forget tasks, at most ``MAX_IN_FLIGHT`` at once (beyond that a copy is skipped and
counted), so a slow shadow never slows the served path. The counts are flushed to the statistics
backend with the experiment's, under the mirror's reserved names (mlpy.experiments.mirror).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import orjson

from mlpy.experiments import MirrorCounts, MirrorSpec, compare_predictions, predictions_of
from mlpy_server.upstream import UpstreamConnectionError, UpstreamPool, UpstreamTimeoutError

MAX_IN_FLIGHT = 64


class ShadowCopies:
    def __init__(self, spec: MirrorSpec, upstream: str, pool: Callable[[], UpstreamPool | None]) -> None:
        self.spec = spec
        self.upstream = upstream
        self._pool = pool
        self._share = spec.percent / 100
        self._tasks: set[asyncio.Task[None]] = set()
        self.skipped = 0
        self.counts = MirrorCounts()

    def maybe_copy(self, path: str, body: bytes, headers: dict[str, str], status: int, answer: bytes) -> None:
        """Schedule a copy of this request, with the mirror's share of probability."""
        if random.random() >= self._share:
            return
        if len(self._tasks) >= MAX_IN_FLIGHT:
            self.skipped += 1
            return
        copied = {k: v for k, v in headers.items() if k != "x-mlpy-variant"}
        copied["x-mlpy-mirror"] = "true"
        task = asyncio.create_task(self._copy(path, body, copied, status, answer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _copy(
        self, path: str, body: bytes, headers: dict[str, str], status: int, answer: bytes
    ) -> None:
        pool = self._pool()
        if pool is None:
            return
        counts = self.counts
        counts.copies += 1
        start = time.perf_counter()
        try:
            shadow_status, shadow_answer, _ = await pool.post(self.upstream, path, body, headers)
        except (UpstreamConnectionError, UpstreamTimeoutError):
            counts.failed += 1
            return
        counts.answered_in(1000 * (time.perf_counter() - start))
        if shadow_status >= 500:
            counts.failed += 1
            return
        if status != 200 or shadow_status != 200:
            return  # a refused input is refused by both, or not comparable
        try:
            served, shadow = predictions_of(orjson.loads(answer)), predictions_of(orjson.loads(shadow_answer))
        except orjson.JSONDecodeError:
            return  # the binary tensor extension: not compared
        if served is None or shadow is None:
            return
        agreed, difference = compare_predictions(served, shadow)
        counts.compared += 1
        counts.agreed += agreed
        counts.difference += difference

    def take(self) -> MirrorCounts:
        """The counts since the last call (a copy in flight adds to the next ones)."""
        taken, self.counts = self.counts, MirrorCounts()
        return taken

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
