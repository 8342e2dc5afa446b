"""Choosing a variant for a unit: sticky by a hash of the unit id, otherwise random, in microseconds."""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Mapping

import numpy as np

from mlpy.experiments.allocation import normalise

_SCALE = float(2**64)


def unit_position(experiment: str, unit_id: str) -> float:
    """A point in [0, 1) fixed by experiment and unit, the same in every process and replica.

    The experiment name is part of the hash so one user does not land in the same bucket of every test.
    """
    digest = hashlib.blake2b(f"{experiment}\x00{unit_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


class Assigner:
    """Cumulative buckets over the weights in force; immutable, so a new weighting swaps it atomically."""

    __slots__ = ("_cumulative", "experiment", "names", "probabilities")

    def __init__(self, experiment: str, weights: Mapping[str, float]) -> None:
        self.experiment = experiment
        self.probabilities = normalise(weights)
        self.names = tuple(self.probabilities)
        running, cumulative = 0.0, []
        for name in self.names:
            running += self.probabilities[name]
            cumulative.append(running)
        cumulative[-1] = 1.0
        self._cumulative = tuple(cumulative)

    def pick(self, position: float) -> str:
        index = bisect.bisect_right(self._cumulative, position)
        return self.names[min(index, len(self.names) - 1)]

    def assign(self, unit_id: str | None = None, rng: random.Random | None = None) -> str:
        """Sticky for a unit id while the weights stay put; a fresh random draw without one."""
        if unit_id is not None:
            return self.pick(unit_position(self.experiment, unit_id))
        return self.pick((rng or random).random())

    def assign_many(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Variant indices for ``count`` anonymous units at once (the simulator's fast path)."""
        positions = rng.random(count)
        indices = np.searchsorted(np.asarray(self._cumulative), positions, side="right")
        return np.minimum(indices, len(self.names) - 1)
