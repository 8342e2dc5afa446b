"""A canary's steps on the operator's clock: advance while the guardrails hold (each step waits for an
interval of guardrail windows that held, judged by the routers), publish each step's weights to the
routers, conclude when the candidate has held its maximum weight for an interval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlpy.experiments import (
    CanaryProgress,
    ExperimentConfig,
    GuardrailWindows,
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
    return {
        "step": progress.step,
        "weight": progress.weight,
        "since": progress.since.isoformat(),
        "guardrailWindows": {"judged": progress.judged, "breached": progress.breached},
        "held": progress.held,
    }


def progress_from_status(data: Mapping[str, Any] | None) -> CanaryProgress | None:
    """The rollout's place from ``status.canary``; None before its first step."""
    if not data:
        return None
    windows = data.get("guardrailWindows") or {}
    return CanaryProgress(
        int(data["step"]),
        float(data["weight"]),
        datetime.fromisoformat(str(data["since"])),
        judged=int(windows.get("judged", 0)),
        breached=int(windows.get("breached", 0)),
        held=bool(data.get("held", False)),
    )


def canary_step(
    spec: ExperimentSpec,
    status: dict[str, Any],
    rollback: PublishedWeights | None,
    now: datetime,
    windows: GuardrailWindows,
) -> CanaryOutcome:
    steps = spec.config.canary
    before = progress_from_status(status.get("canary"))
    if rollback is not None:
        progress = before or CanaryProgress(1, steps.step_weight, now)
        return CanaryOutcome(
            progress, "roll_back", f"canary stopped at {progress.weight:g}%: {rollback.reason}"
        )
    move = advance(steps, before, now, windows)
    progress = move.progress
    if move.complete:
        return CanaryOutcome(
            progress,
            "ship",
            f"the candidate held {progress.weight:g}% of the traffic for {steps.interval_s:g}s with its "
            "guardrails holding",
        )
    said = f"canary step {progress.step}: the candidate takes {progress.weight:g}%"
    if move.waiting == "breached":
        said += (
            f"; held: a guardrail window of the candidate breached (since {progress.since:%H:%M:%S}), "
            f"the step advances after {steps.interval_s:g}s of windows that hold"
        )
    elif move.waiting == "unjudged":
        said += (
            "; waiting for a guardrail window to judge (one needs "
            f"{spec.config.guardrails.min_requests} requests to the candidate)"
        )
    return CanaryOutcome(progress, "keep_running", said)


def newly_held(old: dict[str, Any], status: dict[str, Any]) -> str | None:
    """The reason of a canary step held by a breached window the previous status did not show yet (an
    Event says it once per breach seen)."""
    now, before = status.get("canary") or {}, old.get("canary") or {}
    breached = (now.get("guardrailWindows") or {}).get("breached", 0)
    if not now.get("held") or breached <= (before.get("guardrailWindows") or {}).get("breached", 0):
        return None
    return str((status.get("reasons") or ["canary step held"])[0])


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
