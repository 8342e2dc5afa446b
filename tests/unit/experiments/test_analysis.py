from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from mlpy.experiments import Decision, MetricSpec, StoppingRule, VariantStats, analyse
from mlpy.experiments.definition import ExperimentConfig, parse_duration
from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.metrics import Goal, MetricType

START = datetime(2026, 1, 1, tzinfo=UTC)
RULE = StoppingRule(min_samples_per_variant=100, confidence=0.95, max_duration=timedelta(days=14))
ERROR = MetricSpec("squared_error", Goal.minimize, MetricType.mean)


def _values(mean: float, n: int, seed: int) -> VariantStats:
    stats = VariantStats.of(np.random.default_rng(seed).normal(mean, 1.0, n))
    return VariantStats(assigned=n, expected=n, n=stats.n, total=stats.total, total_sq=stats.total_sq)


def test_keep_running_below_minimum_samples_then_inconclusive_after_max_duration() -> None:
    stats = {"A": _values(1.0, 50, 1), "B": _values(1.0, 500, 2)}
    assert analyse(stats, ERROR, RULE, START, START + timedelta(days=1)).decision is Decision.keep_running
    late = analyse(stats, ERROR, RULE, START, START + timedelta(days=15))
    assert late.decision is Decision.inconclusive
    assert "maximum duration" in late.reasons[0]


def test_ship_the_variant_with_lower_error() -> None:
    stats = {"A": _values(2.0, 2_000, 1), "B": _values(1.5, 2_000, 2)}
    result = analyse(stats, ERROR, RULE, START, START + timedelta(days=1))
    assert result.decision is Decision.ship
    assert result.winner == "B"
    assert result.lift is not None
    assert result.lift < 0
    assert "B is better than A" in result.reasons[0]
    assert result.to_dict()["variants"]["B"]["comparison"]["ci"][1] < 0


def test_roll_back_when_every_variant_is_worse() -> None:
    stats = {"A": _values(1.0, 2_000, 1), "B": _values(1.5, 2_000, 2), "C": _values(1.6, 2_000, 3)}
    result = analyse(stats, ERROR, RULE, START, START + timedelta(days=1))
    assert result.decision is Decision.roll_back
    assert result.winner == "A"
    assert len(result.reasons) == 2


def test_no_difference_keeps_running_then_is_inconclusive() -> None:
    stats = {"A": _values(1.0, 300, 1), "B": _values(1.0, 300, 2)}
    assert analyse(stats, ERROR, RULE, START, START + timedelta(days=1)).decision is Decision.keep_running
    assert analyse(stats, ERROR, RULE, START, START + timedelta(days=20)).decision is Decision.inconclusive


def test_sample_ratio_mismatch_blocks_a_decision() -> None:
    a, b = _values(2.0, 2_000, 1), _values(1.5, 2_000, 2)
    skewed = {"A": a, "B": VariantStats(1_700, 2_000, b.n, b.total, b.total_sq)}
    result = analyse(skewed, ERROR, RULE, START, START + timedelta(days=1))
    assert result.decision is Decision.inconclusive
    assert result.srm is not None
    assert result.srm.mismatch
    assert "sample ratio mismatch" in result.reasons[0]


def test_analysis_is_json_ready() -> None:
    import orjson

    stats = {"A": _values(1.0, 300, 1), "B": _values(1.0, 300, 2)}
    data = orjson.loads(orjson.dumps(analyse(stats, ERROR, RULE, START, START).to_dict()))
    assert {"decision", "winner", "p_value", "lift", "srm", "variants", "reasons"} <= set(data)


def test_stopping_rule_and_spec_validation() -> None:
    with pytest.raises(InvalidExperimentError, match="confidence"):
        StoppingRule(confidence=1.5)
    with pytest.raises(InvalidExperimentError, match="at least two variants"):
        analyse({"A": VariantStats()}, ERROR, RULE, START, START)
    assert parse_duration("14d") == timedelta(days=14)
    with pytest.raises(InvalidExperimentError, match="bad duration"):
        parse_duration("fortnight")


def test_crd_shaped_spec_round_trips() -> None:
    spec = {
        "variants": [
            {"name": "v1", "modelVersion": "3", "weight": 80},
            {"name": "v2", "modelVersion": "4", "weight": 20},
        ],
        "strategy": "thompson-sampling",
        "epsilon": 0.1,
        "metric": {"name": "squared_error", "goal": "minimize", "type": "mean"},
        "stopping": {"minSamplesPerVariant": 200, "confidence": 0.99, "maxDuration": "7d"},
    }
    config = ExperimentConfig.from_dict(spec)
    assert config.control == "v1"
    assert config.stopping.max_duration == timedelta(days=7)
    assert ExperimentConfig.from_dict(config.to_dict()) == config
    with pytest.raises(InvalidExperimentError, match="bad experiment spec"):
        ExperimentConfig.from_dict({"variants": [{"weight": 1}]})


def test_operator_evaluation_from_crd_spec_and_router_stats() -> None:
    from mlpy.experiments import evaluate

    spec = {
        "variants": [{"name": "v1", "weight": 50}, {"name": "v2", "weight": 50}],
        "strategy": "thompson-sampling",
        "metric": {"name": "squared_error", "goal": "minimize", "type": "mean"},
        "stopping": {"minSamplesPerVariant": 100, "confidence": 0.95, "maxDuration": "14d"},
    }
    fresh = evaluate(spec, {}, START, START)
    assert fresh.weights == {"v1": 0.5, "v2": 0.5}
    assert fresh.analysis.decision is Decision.keep_running
    served = {
        name: s.to_dict() for name, s in {"v1": _values(2.0, 2_000, 1), "v2": _values(1.5, 2_000, 2)}.items()
    }
    decided = evaluate(spec, served, START, START + timedelta(days=1), seed=1)
    report = decided.to_dict()
    assert report["decision"] == "ship"
    assert report["winner"] == "v2"
    assert report["weights"]["v2"] > 0.85  # thompson keeps 10% off the leader
    assert report["variants"]["v2"]["n"] == 2_000
    assert report["p_value"] < 0.05
