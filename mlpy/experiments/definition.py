"""An experiment's definition, in the shape the operator's Experiment CRD and the CLI both use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mlpy.experiments.allocation import DEFAULT_EPSILON, Strategy, normalise
from mlpy.experiments.analysis import StoppingRule
from mlpy.experiments.bandit_stopping import DEFAULT_MAX_EXPECTED_LOSS
from mlpy.experiments.canary import CanarySteps
from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.guardrails import Guardrails
from mlpy.experiments.metrics import MetricSpec
from mlpy.experiments.mirror import MirrorSpec
from mlpy.experiments.runtime import Variant

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``36h``, ``14d`` or ``2w``."""
    match = _DURATION.match(text)
    if not match:
        raise InvalidExperimentError(
            f"bad duration {text!r}", hint="use a number and a unit: 30m, 36h, 14d, 2w"
        )
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def check_name(name: str, what: str = "experiment") -> str:
    if not NAME.match(name):
        raise InvalidExperimentError(
            f"bad {what} name {name!r}", hint="use letters, digits, '.', '_' or '-' (at most 128)"
        )
    return name


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """Variants (the first is the control), how traffic is split, what is measured and when to stop."""

    variants: tuple[Variant, ...]
    strategy: Strategy = Strategy.weighted
    metric: MetricSpec = field(default_factory=MetricSpec)
    stopping: StoppingRule = field(default_factory=StoppingRule)
    epsilon: float = DEFAULT_EPSILON
    floor: float | None = None  # None: the strategy's default (Strategy.default_floor)
    guardrails: Guardrails = field(default_factory=Guardrails)
    canary: CanarySteps = field(default_factory=CanarySteps)
    mirror: MirrorSpec | None = None

    def __post_init__(self) -> None:
        names = [check_name(v.name, "variant") for v in self.variants]
        if len(names) < 2 or len(set(names)) != len(names):
            raise InvalidExperimentError(
                f"an experiment needs two or more distinct variants, got {names}",
                hint="--variant A=50 --variant B=50",
            )
        normalise({v.name: v.weight for v in self.variants})
        if self.strategy is Strategy.canary and len(names) != 2:
            raise InvalidExperimentError(
                f"the canary strategy rolls out one candidate beside the control, got {len(names)} variants",
                hint="give two variants, the control first",
            )
        if self.strategy is Strategy.canary and not self.guardrails.enabled:
            raise InvalidExperimentError(
                "the canary strategy advances only while its guardrails hold: it needs some",
                hint="set guardrails.maxErrorRate, maxP99Ms or maxFairnessGap",
            )

    @property
    def control(self) -> str:
        return self.variants[0].name

    @property
    def weights(self) -> dict[str, float]:
        return {v.name: v.weight for v in self.variants}

    def to_dict(self) -> dict[str, Any]:
        """camelCase like the CRD spec, so one parser reads both."""
        duration = self.stopping.max_duration
        return {
            "variants": [
                {"name": v.name, "weight": v.weight, "modelVersion": v.model_version} for v in self.variants
            ],
            "strategy": str(self.strategy),
            "epsilon": self.epsilon,
            "floor": self.floor,
            "metric": self.metric.to_dict(),
            "stopping": {
                "minSamplesPerVariant": self.stopping.min_samples_per_variant,
                "confidence": self.stopping.confidence,
                "maxDuration": None if duration is None else f"{int(duration.total_seconds())}s",
                "maxExpectedLoss": self.stopping.max_expected_loss,
            },
            "guardrails": self.guardrails.to_dict() if self.guardrails.enabled else None,
            "canary": self.canary.to_dict() if self.strategy is Strategy.canary else None,
            "mirror": None if self.mirror is None else self.mirror.to_dict(),
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ExperimentConfig:
        """Read a CRD-style spec; every problem becomes an InvalidExperimentError naming the field."""
        try:
            variants = tuple(
                Variant(
                    name=str(v["name"]),
                    weight=float(v.get("weight", 1.0)),
                    model_version=None if v.get("modelVersion") is None else str(v["modelVersion"]),
                )
                for v in spec.get("variants", [])
            )
            metric = spec.get("metric") or {}
            stopping = spec.get("stopping") or {}
            duration = stopping.get("maxDuration")
            return cls(
                variants=variants,
                strategy=Strategy.parse(str(spec.get("strategy", "weighted"))),
                metric=MetricSpec.parse(
                    str(metric.get("name", "metric")),
                    str(metric.get("goal", "maximize")),
                    str(metric.get("type", "mean")),
                    str(metric.get("source", "feedback")),
                ),
                stopping=StoppingRule(
                    min_samples_per_variant=int(stopping.get("minSamplesPerVariant", 100)),
                    confidence=float(stopping.get("confidence", 0.95)),
                    max_duration=None if duration is None else parse_duration(str(duration)),
                    max_expected_loss=float(stopping.get("maxExpectedLoss", DEFAULT_MAX_EXPECTED_LOSS)),
                ),
                epsilon=float(spec.get("epsilon", DEFAULT_EPSILON)),
                floor=None if spec.get("floor") is None else float(spec["floor"]),
                guardrails=Guardrails.from_dict(spec.get("guardrails")),
                canary=CanarySteps.from_dict(spec.get("canary")),
                mirror=MirrorSpec.from_dict(spec.get("mirror")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidExperimentError(
                f"bad experiment spec: {exc!r}", hint="see docs/experiments.md for the fields"
            ) from exc
