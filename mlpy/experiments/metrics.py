"""What an experiment measures, and which direction is better."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, cast

from mlpy.experiments.errors import InvalidExperimentError


class Goal(enum.StrEnum):
    minimize = "minimize"
    maximize = "maximize"


class MetricType(enum.StrEnum):
    mean = "mean"
    proportion = "proportion"


class MetricSource(enum.StrEnum):
    """Where a unit's value comes from: ``POST /feedback``'s ``value``, or ``POST /kpi`` of the KPI the
    metric names (revenue, conversion), sent to the router with the routed request id or the unit."""

    feedback = "feedback"
    kpi = "kpi"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """An experiment metric: e.g. squared error (mean, minimize) or conversion (proportion, maximize);
    from feedback, or from the business KPI of the same name."""

    name: str = "metric"
    goal: Goal = Goal.maximize
    type: MetricType = MetricType.mean
    source: MetricSource = MetricSource.feedback

    def __post_init__(self) -> None:
        # Plain strings ("maximize") compare equal to the enums but fail `is` checks: coerce them here,
        # so MetricSpec("conversion", goal="maximize") never silently means "minimize".
        try:
            object.__setattr__(self, "goal", Goal(self.goal))
            object.__setattr__(self, "type", MetricType(self.type))
            object.__setattr__(self, "source", MetricSource(self.source))
        except ValueError as exc:
            raise InvalidExperimentError(
                f"bad metric: {exc}",
                hint="goal is minimize|maximize, type is mean|proportion, source is feedback|kpi",
            ) from exc

    @property
    def sign(self) -> float:
        """+1 when larger is better, -1 when smaller is better: multiply a difference to get 'better'."""
        return 1.0 if self.goal is Goal.maximize else -1.0

    def check_value(self, value: float) -> float:
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidExperimentError(
                f"metric {self.name!r} got a non-finite value {value}", hint="record finite numbers only"
            )
        if self.type is MetricType.proportion and value not in (0.0, 1.0):
            raise InvalidExperimentError(
                f"metric {self.name!r} is a proportion but got {value}", hint="record 0 or 1 per unit"
            )
        return value

    @classmethod
    def parse(
        cls, name: str = "metric", goal: str = "maximize", type: str = "mean", source: str = "feedback"
    ) -> MetricSpec:
        """From text (the CLI, the CRD): ``__post_init__`` validates and converts the fields."""
        return cls(
            name=name, goal=cast(Goal, goal), type=cast(MetricType, type), source=cast(MetricSource, source)
        )

    @property
    def from_kpi(self) -> bool:
        return self.source is MetricSource.kpi

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "goal": str(self.goal), "type": str(self.type), "source": str(self.source)}
