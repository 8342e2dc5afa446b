"""A canary's steps on the operator's clock: advance while the guardrails hold, publish each step's
weights to the routers, conclude when the candidate has held its maximum weight for an interval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlpy.experiments import (
    CanaryProgress,
    ExperimentConfig,
    PublishedWeights,
    StatsBackend,
    advance,
    definition_basis,
    normalise,
)
from mlpy_operator.specs import ExperimentSpec


@dataclass(frozen=True)
class CanaryOutcome:
    progress: CanaryProgress
    decision: str  # keep_running, ship (complete) or roll_back (a guardrail rolled it back)
    reason: str


def progress_status(progress: CanaryProgress) -> dict[str, Any]:
    """The rollout's place as ``status.canary`` keeps it between reconciles."""
    return {"step": progress.step, "weight": progress.weight, "since": progress.since.isoformat()}


def progress_from_status(data: Mapping[str, Any] | None) -> CanaryProgress | None:
    """The rollout's place from ``status.canary``; None before its first step."""
    if not data:
        return None
    return CanaryProgress(
        int(data["step"]), float(data["weight"]), datetime.fromisoformat(str(data["since"]))
    )


def canary_step(
    spec: ExperimentSpec, status: dict[str, Any], rollback: PublishedWeights | None, now: datetime
) -> CanaryOutcome:
    steps = spec.config.canary
    before = progress_from_status(status.get("canary"))
    if rollback is not None:
        progress = before or CanaryProgress(1, steps.step_weight, now)
        return CanaryOutcome(
            progress, "roll_back", f"canary stopped at {progress.weight:g}%: {rollback.reason}"
        )
    progress, complete = advance(steps, before, now)
    if complete:
        return CanaryOutcome(
            progress,
            "ship",
            f"the candidate held {progress.weight:g}% of the traffic for {steps.interval_s:g}s with its "
            "guardrails holding",
        )
    return CanaryOutcome(
        progress, "keep_running", f"canary step {progress.step}: the candidate takes {progress.weight:g}%"
    )


def step_weights(spec: ExperimentSpec, progress: CanaryProgress) -> dict[str, float]:
    control, candidate = spec.variants
    return normalise(spec.config.canary.weights(control, candidate, progress.weight))


def publish_step(
    backend: StatsBackend,
    key: str,
    document: dict[str, Any],
    weights: dict[str, float],
    published: PublishedWeights | None,
) -> None:
    """Hand the routers this step's weights, under the definition they run (their router file)."""
    routed = ExperimentConfig.from_dict(document["spec"])
    basis = definition_basis(routed.strategy, routed.weights)
    if published is not None and published.basis == basis and normalise(published.weights) == weights:
        return
    backend.publish_weights(key, weights, basis)
