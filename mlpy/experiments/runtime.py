"""The object a router holds per experiment: assign per request, record feedback, follow shared weights."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlpy.experiments.allocation import (
    DEFAULT_EPSILON,
    DEFAULT_MIN_SAMPLES,
    Strategy,
    next_weights,
)
from mlpy.experiments.assignment import Assigner
from mlpy.experiments.backends import MemoryStats, StatsBackend
from mlpy.experiments.errors import InvalidExperimentError, UnknownVariantError
from mlpy.experiments.metrics import MetricSpec, MetricType
from mlpy.experiments.stats import VariantStats, merge

if TYPE_CHECKING:  # the definition module imports this one
    from mlpy.experiments.definition import ExperimentConfig


def definition_basis(strategy: Strategy, weights: Mapping[str, float]) -> str:
    """A digest of what weights set by hand are set under: the strategy and the variants' weights.
    The operator computes it too, to publish a canary's steps to routers of that definition."""
    definition = {"strategy": str(strategy), "weights": {k: float(v) for k, v in weights.items()}}
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    weight: float = 1.0
    model_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "model_version": self.model_version}


class _Pending:
    """Mutable per-variant deltas not yet flushed to the shared backend."""

    __slots__ = ("assigned", "expected", "n", "total", "total_sq")

    def __init__(self) -> None:
        self.assigned, self.expected, self.n, self.total, self.total_sq = 0, 0.0, 0, 0.0, 0.0

    def freeze(self) -> VariantStats:
        return VariantStats(self.assigned, self.expected, self.n, self.total, self.total_sq)


class Experiment:
    """Thread-safe: ``assign`` and ``record`` touch only memory; ``refresh`` flushes the deltas to the
    shared backend with atomic increments and recomputes the weights from the merged totals.

    By default ``assign`` triggers ``refresh`` once per ``refresh_interval_s`` (one request then pays a
    store round trip); an async server passes ``auto_refresh=False`` and calls ``refresh`` from its own
    periodic task instead, keeping the request path free of I/O.
    """

    def __init__(
        self,
        name: str,
        variants: Sequence[Variant],
        *,
        strategy: Strategy | str = Strategy.weighted,
        metric: MetricSpec | None = None,
        epsilon: float = DEFAULT_EPSILON,
        floor: float | None = None,
        min_samples: int = DEFAULT_MIN_SAMPLES,
        backend: StatsBackend | None = None,
        refresh_interval_s: float = 1.0,
        auto_refresh: bool = True,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        names = [v.name for v in variants]
        if len(names) < 2 or len(set(names)) != len(names) or not all(names):
            raise InvalidExperimentError(
                f"experiment {name!r} needs two or more uniquely named variants, got {names}",
                hint="give each variant its own name",
            )
        self.name = name
        self.variants = tuple(variants)
        self.strategy = Strategy.parse(strategy) if isinstance(strategy, str) else strategy
        self.metric = metric or MetricSpec()
        self.epsilon, self.floor, self.min_samples = epsilon, floor, min_samples
        self.backend: StatsBackend = backend or MemoryStats()
        self.refresh_interval_s = refresh_interval_s
        self.auto_refresh = auto_refresh
        self.seed = seed
        self._clock = clock
        self._base = {v.name: v.weight for v in variants}
        self._lock = threading.Lock()
        self._pending = {v.name: _Pending() for v in variants}
        self._generation = 0
        self._units = 0
        self._assigner = Assigner(name, next_weights(self.strategy, {}, self.metric, base_weights=self._base))
        self._next_refresh = clock() + refresh_interval_s
        # Weights set by hand (set_weights, on any replica) hold until the definition changes: they
        # are published under this digest of it, and the revision adopted last is kept.
        self.basis = definition_basis(self.strategy, self._base)
        self.pinned_revision: int | None = None
        self.pinned_reason = ""

    @classmethod
    def from_config(
        cls,
        name: str,
        config: ExperimentConfig,
        *,
        backend: StatsBackend | None = None,
        refresh_interval_s: float = 1.0,
        seed: int | None = None,
    ) -> Experiment:
        """The running experiment a definition describes (the router's and the simulator's)."""
        return cls(
            name,
            config.variants,
            strategy=config.strategy,
            metric=config.metric,
            epsilon=config.epsilon,
            floor=config.floor,
            min_samples=config.stopping.min_samples_per_variant,
            backend=backend,
            refresh_interval_s=refresh_interval_s,
            seed=seed,
        )

    def assign(self, unit_id: str | None = None, *, count: bool = True) -> str:
        """The variant for one request; sticky for ``unit_id`` while the weights stay the same.

        The sample-ratio check assumes independent units: pass ``count=False`` for repeat requests of a
        unit already counted (e.g. a returning cookie), so heavy users do not raise false SRM alarms.
        """
        if self.auto_refresh and self._clock() >= self._next_refresh:
            self.refresh()
        with self._lock:
            variant = self._assigner.assign(unit_id)
            if count:
                self._pending[variant].assigned += 1
                self._units += 1
        return variant

    def assign_batch(self, count: int, rng: np.random.Generator) -> dict[str, int]:
        """How ``count`` anonymous units split over the variants (the simulator's fast path)."""
        with self._lock:
            names = self._assigner.names
            counts = np.bincount(self._assigner.assign_many(count, rng), minlength=len(names))
            for name, assigned in zip(names, counts, strict=True):
                self._pending[name].assigned += int(assigned)
            self._units += count
        return {name: int(c) for name, c in zip(names, counts, strict=True)}

    def record(self, variant: str, value: float) -> None:
        """One metric value (e.g. a squared error, or 1/0 for a conversion) observed for ``variant``."""
        value = self.metric.check_value(value)
        with self._lock:
            pending = self._pending.get(variant)
            if pending is None:
                raise UnknownVariantError(
                    f"experiment {self.name!r} has no variant {variant!r}",
                    hint=f"use one of: {', '.join(self._pending)}",
                )
            pending.n += 1
            pending.total += value
            pending.total_sq += value * value

    def record_batch(self, variant: str, values: np.ndarray) -> None:
        """Many metric values for one variant at once."""
        if values.size == 0:
            return
        valid = (
            np.isin(values, (0.0, 1.0)) if self.metric.type is MetricType.proportion else np.isfinite(values)
        )
        if not valid.all():
            self.metric.check_value(float(values[~valid][0]))  # raises, naming the first bad value
        with self._lock:
            pending = self._pending[variant]
            pending.n += int(values.size)
            pending.total += float(values.sum())
            pending.total_sq += float(np.dot(values, values))

    def _fold_expected(self) -> None:
        """Credit every variant with its share of the units assigned under the current weights (SRM needs it).

        Caller holds the lock.
        """
        if self._units:
            for name, probability in self._assigner.probabilities.items():
                self._pending[name].expected += self._units * probability
            self._units = 0

    def current_weights(self) -> dict[str, float]:
        return dict(self._assigner.probabilities)

    def flush(self) -> None:
        """Push the pending deltas to the shared backend; on failure they are kept for the next try."""
        with self._lock:
            self._fold_expected()
            deltas = {name: p.freeze() for name, p in self._pending.items()}
            self._pending = {name: _Pending() for name in self._pending}
        try:
            self.backend.add(self.name, deltas)
        except Exception:
            with self._lock:
                for name, delta in deltas.items():
                    p = self._pending[name]
                    p.assigned += delta.assigned
                    p.expected += delta.expected
                    p.n += delta.n
                    p.total += delta.total
                    p.total_sq += delta.total_sq
            raise

    def stats(self) -> dict[str, VariantStats]:
        """Shared totals plus this process's unflushed deltas."""
        with self._lock:
            self._fold_expected()
            local = {name: p.freeze() for name, p in self._pending.items()}
        return merge(dict.fromkeys(self._base, VariantStats()), self.backend.load(self.name), local)

    def refresh(self) -> dict[str, float]:
        """Flush, re-read the shared totals and swap in the weights they imply, or the weights set by
        hand on any replica (they hold, adaptive strategies included, until the definition changes)."""
        self._next_refresh = self._clock() + self.refresh_interval_s
        self.flush()
        self._follow_published()
        if self.strategy.adaptive and self.pinned_revision is None:
            self._generation += 1
            seed = None if self.seed is None else self.seed + self._generation
            weights = next_weights(
                self.strategy,
                self.stats(),
                self.metric,
                base_weights=self._base,
                epsilon=self.epsilon,
                floor=self.floor,
                min_samples=self.min_samples,
                seed=seed,
            )
            self._swap(Assigner(self.name, weights))
        return self.current_weights()

    def set_weights(self, weights: Mapping[str, float], reason: str = "") -> None:
        """Adopt weights set by hand (or by a guardrail, saying why in ``reason``) for every later
        ``assign``, here at once and on every replica sharing the backend at its next refresh."""
        unknown = set(weights) - set(self._base)
        if unknown:
            raise UnknownVariantError(
                f"unknown variants {sorted(unknown)}", hint="use the experiment's variants"
            )
        assigner = Assigner(self.name, weights)  # refuses a split that sends traffic nowhere
        revision = self.backend.publish_weights(self.name, dict(weights), self.basis, reason)
        self._swap(assigner)
        self.pinned_revision = max(revision, self.pinned_revision or 0)
        self.pinned_reason = reason

    def _follow_published(self) -> None:
        published = self.backend.published_weights(self.name)
        if published is None or published.basis != self.basis:
            return
        if self.pinned_revision is not None and published.revision <= self.pinned_revision:
            return
        if not set(published.weights) <= set(self._base):
            return  # written for variants this definition does not have: not ours to follow
        self._swap(Assigner(self.name, published.weights))
        self.pinned_revision = published.revision
        self.pinned_reason = published.reason

    def _swap(self, assigner: Assigner) -> None:
        with self._lock:
            self._fold_expected()
            self._assigner = assigner

    def snapshot(self) -> dict[str, Any]:
        """What the router serves to the operator: weights in force and per-variant totals."""
        return {
            "experiment": self.name,
            "strategy": str(self.strategy),
            "metric": self.metric.to_dict(),
            "weights": self.current_weights(),
            "variants": {name: stats.to_dict() for name, stats in self.stats().items()},
        }
