"""The canary strategy: a stepped rollout of one candidate that advances only while its guardrails hold.

As in Flagger or Argo Rollouts, the candidate starts at ``stepWeight`` percent of the traffic and gains
``stepWeight`` more every ``interval`` until ``maxWeight``; held there for one more interval, it wins and
the experiment concludes by promotion. The guardrails (mlpy.experiments.guardrails) judge it all along:
``consecutive`` breached windows roll it back and end the rollout; a single breached window holds the
step, which starts again and advances only after a whole interval whose windows held (as Flagger does
not advance a canary whose checks fail), and a step with no window judged yet (too little traffic to
judge) waits for one. The operator advances the steps on its clock and publishes each step's weights to
the routers through the statistics backend; a router alone holds the first step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.guardrails import GuardrailWindows


@dataclass(frozen=True)
class CanarySteps:
    """``spec.canary``: weights in percent of the traffic, the interval in seconds."""

    step_weight: float = 10.0
    max_weight: float = 50.0
    interval_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.step_weight <= self.max_weight <= 100:
            raise InvalidExperimentError(
                f"canary weights need 0 < stepWeight ({self.step_weight:g}) <= maxWeight "
                f"({self.max_weight:g}) <= 100",
                hint="e.g. canary: {stepWeight: 10, maxWeight: 50}",
            )
        if not self.interval_s > 0:
            raise InvalidExperimentError(
                f"canary.intervalSeconds {self.interval_s:g} must be above 0", hint="e.g. 60"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CanarySteps:
        data = data or {}

        def pick(default: float, *keys: str) -> float:
            return float(next((data[k] for k in keys if data.get(k) is not None), default))

        try:
            return cls(
                step_weight=pick(10.0, "stepWeight", "step_weight"),
                max_weight=pick(50.0, "maxWeight", "max_weight"),
                interval_s=pick(60.0, "intervalSeconds", "interval_s"),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidExperimentError(f"canary: {exc}", hint="weights and interval are numbers") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "stepWeight": self.step_weight,
            "maxWeight": self.max_weight,
            "intervalSeconds": self.interval_s,
        }

    def weights(self, control: str, candidate: str, weight: float) -> dict[str, float]:
        return {control: 100.0 - weight, candidate: weight}


@dataclass(frozen=True)
class CanaryProgress:
    """Where the rollout stands: the step, the candidate's weight, and since when; the candidate's
    guardrail windows judged and breached by then; and whether a breached window holds this step."""

    step: int
    weight: float
    since: datetime
    judged: int = 0
    breached: int = 0
    held: bool = False


@dataclass(frozen=True)
class CanaryMove:
    """The rollout after a call of :func:`advance`: complete (it wins), or why the step waits, if it does
    (``breached``: a window breached at this step; ``unjudged``: none judged at it yet)."""

    progress: CanaryProgress
    complete: bool = False
    waiting: str | None = None


def advance(
    steps: CanarySteps,
    progress: CanaryProgress | None,
    now: datetime,
    windows: GuardrailWindows | None = None,
) -> CanaryMove:
    """The rollout at ``now``, given the candidate's guardrail windows so far (from every router).

    Called while no guardrail has rolled the candidate back; one step at most per call, so a late
    reconcile never skips one. A breached window starts the step again; a step advances (or, at
    ``maxWeight``, completes) once it has lasted an interval in which windows were judged, all holding.
    """
    seen = windows or GuardrailWindows()
    if progress is None:
        return CanaryMove(CanaryProgress(1, steps.step_weight, now, seen.judged, seen.breached))
    if seen.breached > progress.breached:
        again = replace(progress, since=now, judged=seen.judged, breached=seen.breached, held=True)
        return CanaryMove(again, waiting="breached")
    if (now - progress.since).total_seconds() < steps.interval_s:
        return CanaryMove(progress, waiting="breached" if progress.held else None)
    if seen.judged <= progress.judged:
        return CanaryMove(progress, waiting="unjudged")
    if progress.weight >= steps.max_weight:
        held = replace(progress, judged=seen.judged, breached=seen.breached, held=False)
        return CanaryMove(held, complete=True)
    weight = min(steps.max_weight, progress.weight + steps.step_weight)
    return CanaryMove(CanaryProgress(progress.step + 1, weight, now, seen.judged, seen.breached))
