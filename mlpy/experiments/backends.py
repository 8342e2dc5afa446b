"""Where replicas share per-variant statistics: in memory, the metadata store, or Redis.

Every backend only ever *adds* deltas atomically (never read-modify-write from the client), so two
router replicas flushing at the same moment lose no update. Replicas also share, through it, the key
they sign request ids with, the request ids whose feedback was already counted, and the weights an
admin set by hand (each publication gets a revision that only grows, so every replica adopts the
newest one at its next refresh).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Protocol

from mlpy.experiments.signing import new_signing_key
from mlpy.experiments.stats import PublishedWeights, VariantStats, merge


class StatsBackend(Protocol):
    def add(self, experiment: str, deltas: Mapping[str, VariantStats]) -> None:
        """Atomically add ``deltas`` to the shared totals."""

    def load(self, experiment: str) -> dict[str, VariantStats]:
        """The shared totals per variant."""

    def clear(self, experiment: str) -> None:
        """Forget the experiment's totals and counted feedback (a restart)."""

    def signing_key(self, experiment: str) -> str:
        """The experiment's request-id signing key: created by the first replica, then read by all."""

    def claim_feedback(self, experiment: str, request_id: str) -> bool:
        """True the first time feedback for ``request_id`` is counted, False on every repeat."""

    def publish_weights(
        self, experiment: str, weights: Mapping[str, float], basis: str, reason: str = ""
    ) -> int:
        """Store weights for every replica; returns their revision, higher than any before."""

    def published_weights(self, experiment: str) -> PublishedWeights | None:
        """The newest weights set by hand, if any."""


#: How many counted request ids an in-memory backend remembers (about 100 bytes each).
REMEMBERED_CLAIMS = 1_000_000


class MemoryStats:
    """One process's totals: for tests, the simulator, and a single-replica router."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, VariantStats]] = {}
        self._keys: dict[str, str] = {}
        self._claims: dict[str, OrderedDict[str, None]] = {}
        self._weights: dict[str, PublishedWeights] = {}

    def add(self, experiment: str, deltas: Mapping[str, VariantStats]) -> None:
        with self._lock:
            self._data[experiment] = merge(self._data.get(experiment, {}), deltas)

    def load(self, experiment: str) -> dict[str, VariantStats]:
        with self._lock:
            return dict(self._data.get(experiment, {}))

    def clear(self, experiment: str) -> None:
        with self._lock:
            self._data.pop(experiment, None)
            self._claims.pop(experiment, None)
            self._weights.pop(experiment, None)

    def signing_key(self, experiment: str) -> str:
        with self._lock:
            return self._keys.setdefault(experiment, new_signing_key())

    def claim_feedback(self, experiment: str, request_id: str) -> bool:
        with self._lock:
            claims = self._claims.setdefault(experiment, OrderedDict())
            if request_id in claims:
                return False
            claims[request_id] = None
            if len(claims) > REMEMBERED_CLAIMS:
                claims.popitem(last=False)
            return True

    def publish_weights(
        self, experiment: str, weights: Mapping[str, float], basis: str, reason: str = ""
    ) -> int:
        with self._lock:
            before = self._weights.get(experiment)
            revision = (before.revision if before else 0) + 1
            self._weights[experiment] = PublishedWeights(revision, basis, dict(weights), reason)
            return revision

    def published_weights(self, experiment: str) -> PublishedWeights | None:
        with self._lock:
            return self._weights.get(experiment)


def open_backend(url: str | None) -> StatsBackend:
    """``redis://...`` for Redis, any SQL URL for the metadata store, nothing for in-process memory."""
    if not url:
        return MemoryStats()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from mlpy.experiments.redis_stats import RedisStats

        return RedisStats(url)
    from mlpy.experiments.sql_stats import SqlStats

    return SqlStats(url)
