"""The canary's steps: one at most per interval, complete after holding the maximum for an interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlpy.experiments import (
    CanarySteps,
    ExperimentConfig,
    GuardrailWindows,
    InvalidExperimentError,
    advance,
)

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_the_rollout_steps_up_to_its_maximum_then_completes() -> None:
    steps = CanarySteps(step_weight=20, max_weight=50, interval_s=60)
    move = advance(steps, None, T0)
    assert (move.progress.step, move.progress.weight, move.complete) == (1, 20.0, False)
    seen = []
    now, judged = T0, 0
    while not move.complete:
        now += timedelta(seconds=30)
        judged += 3  # the routers judge windows all along, every one holding
        move = advance(steps, move.progress, now, GuardrailWindows(judged, judged, 0))
        seen.append(move.progress.weight)
    # Every 60 s a step (never two at once), capped at 50%, then 60 s held there.
    assert seen == [20.0, 40.0, 40.0, 50.0, 50.0, 50.0]
    assert now - T0 == timedelta(minutes=3)


def test_a_breached_window_holds_the_step_until_an_interval_of_windows_holds() -> None:
    """Flagger's rule: a step whose checks fail does not advance. One breached window (not yet the
    ``consecutive`` that roll back) starts the step again; it advances after an interval that held."""
    steps = CanarySteps(step_weight=20, max_weight=50, interval_s=60)
    start = advance(steps, None, T0, GuardrailWindows(4, 4, 0)).progress
    later = T0 + timedelta(seconds=50)
    held = advance(steps, start, later, GuardrailWindows(9, 9, 1))
    assert (held.progress.step, held.progress.since, held.progress.held, held.waiting) == (
        1,
        later,
        True,
        "breached",
    )
    # At the step's first interval's end it does not advance: the interval starts at the breach.
    still = advance(steps, held.progress, T0 + timedelta(seconds=60), GuardrailWindows(10, 10, 1))
    assert (still.progress.step, still.waiting) == (1, "breached")
    # Another breach starts it again; then an interval of windows that hold: the next step.
    again = advance(steps, still.progress, later + timedelta(seconds=100), GuardrailWindows(20, 20, 2))
    assert again.progress.since == later + timedelta(seconds=100)
    resumed = advance(steps, again.progress, later + timedelta(seconds=160), GuardrailWindows(26, 26, 2))
    assert (resumed.progress.step, resumed.progress.weight, resumed.progress.held) == (2, 40.0, False)
    assert resumed.waiting is None
    # At the maximum, a breach holds it too; an interval that held then completes it, no longer held.
    top = advance(steps, resumed.progress, later + timedelta(seconds=220), GuardrailWindows(30, 30, 2))
    top = advance(steps, top.progress, later + timedelta(seconds=230), GuardrailWindows(31, 31, 3))
    assert (top.progress.weight, top.complete, top.progress.held) == (50.0, False, True)
    done = advance(steps, top.progress, later + timedelta(seconds=290), GuardrailWindows(37, 37, 3))
    assert (done.complete, done.progress.held) == (True, False)


def test_a_step_without_a_judged_window_waits_for_one() -> None:
    """Too little traffic to judge the candidate (every window under ``minRequests``): no evidence that
    its guardrails hold, so the step waits, and advances at the first judged window that holds."""
    steps = CanarySteps(step_weight=20, max_weight=50, interval_s=60)
    start = advance(steps, None, T0, GuardrailWindows(2, 1, 0)).progress
    quiet = advance(steps, start, T0 + timedelta(seconds=90), GuardrailWindows(8, 1, 0))
    assert (quiet.progress, quiet.waiting) == (start, "unjudged")
    judged = advance(steps, quiet.progress, T0 + timedelta(seconds=95), GuardrailWindows(9, 2, 0))
    assert (judged.progress.step, judged.waiting) == (2, None)


def test_a_canary_needs_two_variants_guardrails_and_sane_weights() -> None:
    two = [{"name": "control"}, {"name": "candidate"}]
    guarded = {"strategy": "canary", "variants": two, "guardrails": {"maxErrorRate": 0.05}}
    config = ExperimentConfig.from_dict({**guarded, "canary": {"stepWeight": 5, "maxWeight": 25}})
    assert config.canary == CanarySteps(5.0, 25.0, 60.0)
    assert ExperimentConfig.from_dict(config.to_dict()).canary == config.canary
    with pytest.raises(InvalidExperimentError, match="needs some"):
        ExperimentConfig.from_dict({"strategy": "canary", "variants": two})
    with pytest.raises(InvalidExperimentError, match="got 3 variants"):
        ExperimentConfig.from_dict({**guarded, "variants": [*two, {"name": "third"}]})
    with pytest.raises(InvalidExperimentError, match=r"stepWeight \(60\) <= maxWeight \(50\)"):
        CanarySteps.from_dict({"stepWeight": 60})
