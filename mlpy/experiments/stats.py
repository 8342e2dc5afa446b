"""Per-variant sufficient statistics: small, additive, so any number of processes can merge them; and
the weights replicas share when an admin sets them by hand."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class VariantStats:
    """Counts and sums for one variant.

    ``assigned`` counts units routed to the variant and ``expected`` sums the probability each routed
    unit had of landing here (under the weights then in force), so the sample-ratio check stays right
    while a bandit moves the weights. ``n``, ``total`` and ``total_sq`` summarise the metric values.
    """

    assigned: int = 0
    expected: float = 0.0
    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def __add__(self, other: VariantStats) -> VariantStats:
        return VariantStats(
            assigned=self.assigned + other.assigned,
            expected=self.expected + other.expected,
            n=self.n + other.n,
            total=self.total + other.total,
            total_sq=self.total_sq + other.total_sq,
        )

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Unbiased sample variance (clipped at zero against rounding)."""
        if self.n < 2:
            return math.nan
        return max(0.0, (self.total_sq - self.total * self.total / self.n) / (self.n - 1))

    @property
    def is_empty(self) -> bool:
        return self.assigned == 0 and self.n == 0

    @classmethod
    def of(cls, values: Iterable[float]) -> VariantStats:
        n, total, total_sq = 0, 0.0, 0.0
        for raw in values:
            value = float(raw)
            n += 1
            total += value
            total_sq += value * value
        return cls(n=n, total=total, total_sq=total_sq)

    def to_dict(self) -> dict[str, Any]:
        return {
            "assigned": int(self.assigned),
            "expected": float(self.expected),
            "n": int(self.n),
            "sum": float(self.total),
            "sum_sq": float(self.total_sq),
            "mean": None if self.n == 0 else float(self.mean),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantStats:
        """The inverse of :meth:`to_dict` (the router serves this shape to the operator)."""
        return cls(
            assigned=int(data.get("assigned", 0)),
            expected=float(data.get("expected", 0.0)),
            n=int(data.get("n", 0)),
            total=float(data.get("sum", 0.0)),
            total_sq=float(data.get("sum_sq", 0.0)),
        )


def merge(*parts: Mapping[str, VariantStats]) -> dict[str, VariantStats]:
    """Add several per-variant maps (one per process or replica) into one."""
    merged: dict[str, VariantStats] = {}
    for part in parts:
        for name, stats in part.items():
            merged[name] = merged.get(name, VariantStats()) + stats
    return merged


@dataclass(frozen=True)
class PublishedWeights:
    """Weights set by hand on one replica, for all: ``basis`` names the experiment definition they
    were set under (a changed definition, such as a concluded one, ignores them)."""

    revision: int
    basis: str
    weights: dict[str, float] = field(default_factory=dict)
    # Why, when the router set them itself (a guardrail's rollback); empty when an admin did.
    reason: str = ""
