"""The canary's steps: one at most per interval, complete after holding the maximum for an interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlpy.experiments import CanarySteps, ExperimentConfig, InvalidExperimentError, advance

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_the_rollout_steps_up_to_its_maximum_then_completes() -> None:
    steps = CanarySteps(step_weight=20, max_weight=50, interval_s=60)
    progress, done = advance(steps, None, T0)
    assert (progress.step, progress.weight, done) == (1, 20.0, False)
    seen = []
    now = T0
    while not done:
        now += timedelta(seconds=30)
        progress, done = advance(steps, progress, now)
        seen.append(progress.weight)
    # Every 60 s a step (never two at once), capped at 50%, then 60 s held there.
    assert seen == [20.0, 40.0, 40.0, 50.0, 50.0, 50.0]
    assert now - T0 == timedelta(minutes=3)


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
