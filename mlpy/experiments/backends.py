"""Where replicas share per-variant statistics: in memory, the metadata store, or Redis.

Every backend only ever *adds* deltas atomically (never read-modify-write from the client), so two
router replicas flushing at the same moment lose no update.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Protocol

from mlpy.experiments.stats import VariantStats, merge


class StatsBackend(Protocol):
    def add(self, experiment: str, deltas: Mapping[str, VariantStats]) -> None:
        """Atomically add ``deltas`` to the shared totals."""

    def load(self, experiment: str) -> dict[str, VariantStats]:
        """The shared totals per variant."""

    def clear(self, experiment: str) -> None:
        """Forget the experiment's totals (a restart)."""


class MemoryStats:
    """One process's totals: for tests, the simulator, and a single-replica router."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, VariantStats]] = {}

    def add(self, experiment: str, deltas: Mapping[str, VariantStats]) -> None:
        with self._lock:
            self._data[experiment] = merge(self._data.get(experiment, {}), deltas)

    def load(self, experiment: str) -> dict[str, VariantStats]:
        with self._lock:
            return dict(self._data.get(experiment, {}))

    def clear(self, experiment: str) -> None:
        with self._lock:
            self._data.pop(experiment, None)


def open_backend(url: str | None) -> StatsBackend:
    """``redis://...`` for Redis, any SQL URL for the metadata store, nothing for in-process memory."""
    if not url:
        return MemoryStats()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from mlpy.experiments.redis_stats import RedisStats

        return RedisStats(url)
    from mlpy.experiments.sql_stats import SqlStats

    return SqlStats(url)
