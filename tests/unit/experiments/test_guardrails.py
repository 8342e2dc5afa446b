"""Guardrails judge each candidate's windows of requests, and roll back only after N in a row."""

from __future__ import annotations

import pytest

from mlpy.experiments import (
    ExperimentConfig,
    Guardrails,
    GuardrailWatch,
    GuardrailWindows,
    InvalidExperimentError,
    VariantStats,
    without,
)
from mlpy.experiments.guardrails import WINDOWS


def fill(watch: GuardrailWatch, variant: str, requests: int, errors: int = 0, seconds: float = 0.01) -> None:
    for i in range(requests):
        watch.observe(variant, seconds, failed=i < errors)


def test_a_variant_is_rolled_back_after_consecutive_breaches_only() -> None:
    watch = GuardrailWatch(Guardrails(max_error_rate=0.05, consecutive=3, min_requests=20), ["B"])
    for _ in range(2):
        fill(watch, "B", 40, errors=10)
        assert watch.close_window() is None
    fill(watch, "B", 40, errors=0)  # a healthy window starts the count again
    assert watch.close_window() is None
    assert watch.last["B"]["consecutiveBreaches"] == 0
    for _ in range(2):
        fill(watch, "B", 40, errors=10)
        assert watch.close_window() is None
    fill(watch, "B", 5, errors=5)  # too few requests to judge: neither a breach nor a reset
    assert watch.close_window() is None
    assert watch.last["B"]["consecutiveBreaches"] == 2
    fill(watch, "B", 40, errors=10)
    breach = watch.close_window()
    assert breach is not None
    assert breach.variant == "B"
    assert "error rate 25.0% above 5.0%" in breach.reason
    assert "3 consecutive windows" in breach.reason


def test_every_window_closed_is_counted_for_the_operator_and_a_failed_send_is_kept() -> None:
    """Closed, judged and breached windows per candidate, additive (a canary's steps wait on them)."""
    watch = GuardrailWatch(Guardrails(max_error_rate=0.05, min_requests=20), ["B", "C"])
    fill(watch, "B", 40, errors=10)
    fill(watch, "C", 40)
    watch.close_window()
    fill(watch, "B", 5)  # too few to judge
    watch.close_window()
    taken = watch.take_windows()
    assert taken == {WINDOWS + "B": VariantStats(2, 0.0, 1, 1.0), WINDOWS + "C": VariantStats(2, 0.0, 1, 0.0)}
    assert GuardrailWindows.of(taken, "B") == GuardrailWindows(closed=2, judged=1, breached=1)
    assert GuardrailWindows.of(taken, "D") == GuardrailWindows()
    assert watch.take_windows() == {}
    watch.keep_windows(taken)  # the backend was unreachable: sent with the next windows
    watch.close_window()
    assert watch.take_windows()[WINDOWS + "C"] == VariantStats(3, 0.0, 1, 0.0)


def test_the_p99_bound_and_the_control_is_never_judged() -> None:
    watch = GuardrailWatch(Guardrails(max_p99_ms=100, consecutive=1, min_requests=10), ["B"])
    fill(watch, "A", 50, errors=50, seconds=5.0)  # the control: production, not judged by its own bounds
    fill(watch, "B", 98, seconds=0.01)
    fill(watch, "B", 2, seconds=0.5)  # 2% of requests slow: the p99 is slow
    breach = watch.close_window()
    assert breach is not None
    assert "p99 latency 500 ms above 100 ms" in breach.reason
    assert watch.last["B"]["p99Ms"] == pytest.approx(500.0)
    assert "A" not in watch.last


def test_rolling_back_gives_the_weight_to_the_rest_or_the_control() -> None:
    assert without({"A": 0.5, "B": 0.3, "C": 0.2}, "B", "A") == {"A": 0.5, "B": 0.0, "C": 0.2}
    assert without({"A": 0.0, "B": 1.0}, "B", "A") == {"A": 1.0, "B": 0.0}


def test_the_spec_reads_guardrails_and_refuses_bad_bounds() -> None:
    spec = {
        "variants": [{"name": "A"}, {"name": "B"}],
        "guardrails": {"maxErrorRate": 0.02, "maxP99Ms": 250, "consecutive": 2, "intervalSeconds": 30},
    }
    config = ExperimentConfig.from_dict(spec)
    assert config.guardrails == Guardrails(0.02, 250.0, 2, 20, 30.0)
    assert ExperimentConfig.from_dict(config.to_dict()).guardrails == config.guardrails
    assert not ExperimentConfig.from_dict({"variants": spec["variants"]}).guardrails.enabled
    with pytest.raises(InvalidExperimentError, match=r"maxErrorRate 1\.5 is outside"):
        Guardrails.from_dict({"maxErrorRate": 1.5})
    with pytest.raises(InvalidExperimentError, match="must be above 0"):
        Guardrails.from_dict({"maxP99Ms": 100, "consecutive": 0})
