"""The mirror: a shadow version that gets copies of a share of the requests, whose answers no client sees.

The router sends the copy after the served answer is back and compares the two: agreement (the same
predictions), the shadow's errors and its latency. The counts are additive, so they travel to the
operator like the variants' statistics, under two reserved names beside the variants' (a variant name
is a DNS label and cannot start with ``~``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.stats import VariantStats

#: assigned: copies sent; expected: copies that failed; n: answers compared; total: those that agreed;
#: total_sq: the sum of the absolute differences of numeric predictions.
COMPARED = "~mirror"
#: n: copies answered; total and total_sq: the sum and sum of squares of their latency in milliseconds.
LATENCY = "~mirror-latency"


@dataclass(frozen=True)
class MirrorSpec:
    """``spec.mirror``: the shadow's ModelVersion (or, for a router file, its URL) and the share copied."""

    percent: float
    model_version: str | None = None
    upstream: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.percent <= 100:
            raise InvalidExperimentError(
                f"mirror.percent {self.percent:g} is outside (0, 100]", hint="e.g. mirror: {percent: 10}"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> MirrorSpec | None:
        if not data:
            return None
        try:
            return cls(
                percent=float(data.get("percent", 100)),
                model_version=None if data.get("modelVersion") is None else str(data["modelVersion"]),
                upstream=None if data.get("upstream") is None else str(data["upstream"]),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidExperimentError(f"mirror: {exc}", hint="percent is a number") from exc

    def to_dict(self) -> dict[str, Any]:
        found = {"percent": self.percent, "modelVersion": self.model_version, "upstream": self.upstream}
        return {k: v for k, v in found.items() if v is not None}


def predictions_of(answer: Any) -> list[Any] | None:
    """The predictions in a native (/predict) or Open Inference Protocol answer, flat; None if none."""
    if not isinstance(answer, dict):
        return None
    if "predictions" in answer:
        return list(answer["predictions"])
    if "prediction" in answer:
        return [answer["prediction"]]
    outputs = answer.get("outputs")
    if isinstance(outputs, list):
        flat: list[Any] = []
        for output in sorted(outputs, key=lambda o: str(o.get("name")) if isinstance(o, dict) else ""):
            if isinstance(output, dict) and isinstance(output.get("data"), list):
                flat.extend(output["data"])
        return flat
    return None


def compare_predictions(served: list[Any], shadow: list[Any]) -> tuple[bool, float]:
    """Whether the shadow agrees (the same labels; numbers equal to 6 significant digits), and the sum
    of the absolute differences of its numeric predictions."""
    if len(served) != len(shadow):
        return False, 0.0
    agreed, difference = True, 0.0
    for mine, theirs in zip(served, shadow, strict=True):
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (mine, theirs))
        if numbers:
            gap = abs(float(mine) - float(theirs))
            difference += gap
            agreed = agreed and gap <= 1e-6 * max(1.0, abs(float(mine)))
        else:
            agreed = agreed and mine == theirs
    return agreed, difference


@dataclass
class MirrorCounts:
    """One router's counts since its last flush (mutable; the router's event loop alone updates it)."""

    copies: int = 0
    failed: int = 0
    compared: int = 0
    agreed: int = 0
    difference: float = 0.0
    answered: int = 0
    latency_ms: float = 0.0
    latency_sq: float = 0.0

    def answered_in(self, ms: float) -> None:
        self.answered += 1
        self.latency_ms += ms
        self.latency_sq += ms * ms

    def deltas(self) -> dict[str, VariantStats]:
        """The counts under the reserved names, for the statistics backend's ``add``."""
        found = {
            COMPARED: VariantStats(
                self.copies, float(self.failed), self.compared, float(self.agreed), self.difference
            ),
            LATENCY: VariantStats(n=self.answered, total=self.latency_ms, total_sq=self.latency_sq),
        }
        return {name: d for name, d in found.items() if not d.is_empty}

    def add(self, other: MirrorCounts) -> None:
        """Counts a failed flush could not deliver: they go out with the next one."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class MirrorReport:
    """What the shadow showed, from the shared counts."""

    copies: int
    failed: int
    compared: int
    agreement: float | None
    mean_difference: float | None
    mean_latency_ms: float | None
    latency_sd_ms: float | None

    @classmethod
    def of(cls, stats: Mapping[str, VariantStats]) -> MirrorReport:
        compared, latency = stats.get(COMPARED, VariantStats()), stats.get(LATENCY, VariantStats())
        variance = latency.variance if latency.n > 1 else None
        return cls(
            copies=compared.assigned,
            failed=round(compared.expected),
            compared=compared.n,
            agreement=compared.total / compared.n if compared.n else None,
            mean_difference=compared.total_sq / compared.n if compared.n else None,
            mean_latency_ms=latency.total / latency.n if latency.n else None,
            latency_sd_ms=math.sqrt(variance) if variance is not None and variance >= 0 else None,
        )

    def to_document(self) -> dict[str, Any]:
        """The figures in the Experiment's own vocabulary: ``GET /experiment`` on a router and the
        operator's ``status.mirror`` show the same document (docs/experiments.md)."""
        return {
            "copies": self.copies,
            "failed": self.failed,
            "compared": self.compared,
            "agreement": self.agreement,
            "meanDifference": self.mean_difference,
            "meanLatencyMs": None if self.mean_latency_ms is None else round(self.mean_latency_ms, 3),
            "latencySdMs": None if self.latency_sd_ms is None else round(self.latency_sd_ms, 3),
        }
