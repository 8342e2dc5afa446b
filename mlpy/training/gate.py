"""The promotion gate: promote a new version only if its metric holds up against a bar, a number or the
version the alias holds now. Its decision, either way, is recorded with the run and the alias move."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlpy.registry import ModelRegistry, ModelVersion, RegistryError
from mlpy.training.errors import TrainingResultError
from mlpy.training.spec import CURRENT, PromotionGate


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    #: The version the alias held, when the gate compared with it.
    current: int | None = None
    bar: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"promote": self.promote, "reason": self.reason, "current": self.current, "bar": self.bar}


def holder(registry: ModelRegistry, model: str, alias: str) -> ModelVersion | None:
    try:
        return registry.get_version(model, f"@{alias}")
    except RegistryError:
        return None


def decide(gate: PromotionGate, metrics: dict[str, float], current: ModelVersion | None) -> GateDecision:
    if gate.metric not in metrics:
        raise TrainingResultError(
            f"the promotion gate reads metric {gate.metric!r}, which the function did not return",
            hint=f"returned: {', '.join(metrics) or 'none'}",
        )
    value = metrics[gate.metric]
    if gate.at_least == CURRENT:
        if current is None:
            return GateDecision(
                True, f"{gate.alias} holds no version yet: {gate.metric} {value:.6g} opens the gate"
            )
        recorded = current.metrics.get(gate.metric)
        if recorded is None:
            return GateDecision(
                True, f"{current.ref} recorded no {gate.metric}: nothing to compare with", current.version
            )
        bar, against = float(recorded), f"{current.ref}'s {float(recorded):.6g}"
    else:
        bar, against = float(gate.at_least), f"the bar {float(gate.at_least):.6g}"
    holds = value <= bar if gate.lower_is_better else value >= bar
    word = "at most" if gate.lower_is_better else "at least"
    verdict = "promoted" if holds else "not promoted"
    reason = f"{gate.metric} {value:.6g} is {'' if holds else 'not '}{word} {against}: {verdict}"
    return GateDecision(holds, reason, None if current is None else current.version, bar)
