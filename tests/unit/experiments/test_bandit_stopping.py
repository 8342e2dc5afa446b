"""The bandit stopping rule and top-two Thompson sampling, piece by piece (the simulated guarantees are in
test_bandit_simulation.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats as sps

from mlpy.cli.main import main
from mlpy.experiments import (
    DEFAULT_MAX_EXPECTED_LOSS,
    Analysis,
    Decision,
    ExperimentConfig,
    InvalidExperimentError,
    MetricSpec,
    StoppingRule,
    Strategy,
    VariantStats,
    analyse,
    next_weights,
)
from mlpy.experiments.metrics import Goal, MetricType
from mlpy.experiments.posterior import chance_best, expected_loss, top_two_shares

REPO = Path(__file__).resolve().parents[3]
START = datetime(2026, 1, 1, tzinfo=UTC)
RATE = MetricSpec("conversion", Goal.maximize, MetricType.proportion)


def _rate(successes: int, n: int) -> VariantStats:
    return VariantStats(assigned=n, expected=n, n=n, total=successes, total_sq=successes)


def _verdict(
    stats: dict[str, VariantStats], strategy: Strategy = Strategy.thompson_sampling, **stop: Any
) -> Analysis:
    return analyse(stats, RATE, StoppingRule(**stop), START, START + timedelta(hours=1), strategy=strategy)


def test_expected_loss_matches_the_normal_closed_form() -> None:
    """E[max(B, A) - A] with A at 0 and B ~ N(d, s²) is s·φ(d/s) + d·Φ(d/s)."""
    rng = np.random.default_rng(0)
    d, s = -0.5, 1.0
    samples = np.column_stack([np.zeros(400_000), rng.normal(d, s, 400_000)])
    exact = s * sps.norm.pdf(d / s) + d * sps.norm.cdf(d / s)
    loss = expected_loss(samples, 1.0)
    assert loss[0] == pytest.approx(exact, rel=0.01)
    assert loss[1] == pytest.approx(exact - d, rel=0.01)  # shipping B gives up what A would add
    # lower is better: the two swap
    assert expected_loss(samples, -1.0) == pytest.approx([exact - d, exact], rel=0.01)


def test_top_two_shares_are_what_the_rule_plays() -> None:
    """The closed form against the rule played literally: a draw's best, or with probability 1 - beta
    the best of the next draw that names another variant."""
    rng = np.random.default_rng(1)
    samples = rng.normal([0.0, 0.3, 0.5], 0.4, size=(4000, 3))
    shares = top_two_shares(samples, 1.0, beta=0.5)
    best = np.argmax(samples, axis=1)
    played = np.zeros(3)
    for _ in range(40_000):
        first = best[rng.integers(len(best))]
        if rng.random() < 0.5:
            played[first] += 1
            continue
        while (other := best[rng.integers(len(best))]) == first:
            pass
        played[other] += 1
    assert shares == pytest.approx(played / played.sum(), abs=0.01)
    plain = chance_best(samples, 1.0)
    assert shares[1] > plain[1]  # the runner-up is measured more than by plain Thompson sampling
    with pytest.raises(InvalidExperimentError, match="beta"):
        top_two_shares(samples, 1.0, beta=1.0)


def test_top_two_keeps_half_on_the_leader_and_measures_the_challenger() -> None:
    stats = {"A": _rate(100, 1000), "B": _rate(110, 1000), "C": _rate(160, 1000)}
    weights = next_weights(Strategy.top_two_thompson, stats, RATE, seed=3)
    assert weights["C"] == pytest.approx(0.5, abs=0.02)
    assert weights["B"] > weights["A"] >= 0.01
    thompson = next_weights(Strategy.thompson_sampling, stats, RATE, seed=3)
    assert thompson["C"] > 0.85
    # a clear leader in every draw: the runner-up of each draw stands in for the challenger
    sure = {"A": _rate(10, 1000), "B": _rate(20, 1000), "C": _rate(500, 1000)}
    assert next_weights(Strategy.top_two_thompson, sure, RATE, seed=3)["B"] > 0.3


def test_bandit_rule_waits_for_the_minimum_then_ships_the_leader() -> None:
    few = _verdict({"A": _rate(5, 50), "B": _rate(20, 50)})
    assert few.decision is Decision.keep_running
    assert "below 100 samples" in few.reasons[0]
    clear = _verdict({"A": _rate(1000, 10_000), "B": _rate(1300, 10_000)})
    assert clear.decision is Decision.ship
    assert clear.winner == "B"
    assert clear.bandit is not None
    assert clear.bandit.chance_best["B"] > 0.99
    assert clear.bandit.relative_loss <= DEFAULT_MAX_EXPECTED_LOSS
    assert "B leads on conversion" in clear.reasons[0]
    assert clear.to_dict()["bandit"]["met"] is True
    assert clear.p_value is not None  # the comparison with the control is still reported


def test_bandit_rule_rolls_back_when_the_control_leads() -> None:
    verdict = _verdict({"A": _rate(1300, 10_000), "B": _rate(1000, 10_000), "C": _rate(1010, 10_000)})
    assert verdict.decision is Decision.roll_back
    assert verdict.winner == "A"


def test_expected_loss_holds_back_a_probable_but_costly_leader() -> None:
    """94-99% chance to be best, but shipping could still cost ~0.1% of the control's mean: keep running,
    unless the threshold allows that much; and a cheap leader still needs the confidence."""
    stats = {"A": _rate(1000, 10_000), "B": _rate(1090, 10_000)}
    strict = _verdict(stats, confidence=0.9)
    assert strict.bandit is not None
    assert strict.bandit.confident
    assert not strict.bandit.cheap
    assert strict.decision is Decision.keep_running
    lax = _verdict(stats, confidence=0.9, max_expected_loss=0.01)
    assert lax.decision is Decision.ship
    unsure = _verdict(stats, confidence=0.999, max_expected_loss=0.01)
    assert unsure.decision is Decision.keep_running
    late = analyse(
        stats,
        RATE,
        StoppingRule(max_duration=timedelta(minutes=30)),
        START,
        START + timedelta(hours=1),
        strategy=Strategy.thompson_sampling,
    )
    assert late.decision is Decision.inconclusive


def test_fixed_splits_and_epsilon_greedy_keep_the_always_valid_test() -> None:
    stats = {"A": _rate(1000, 10_000), "B": _rate(1300, 10_000)}
    for strategy in (Strategy.random, Strategy.weighted, Strategy.epsilon_greedy):
        verdict = _verdict(stats, strategy)
        assert verdict.bandit is None
        assert verdict.decision is Decision.ship
        assert "relative lift" in verdict.reasons[0]


def test_the_bandit_check_is_seeded_so_replicas_agree() -> None:
    stats = {"A": _rate(1000, 10_000), "B": _rate(1050, 10_000)}
    first, second = _verdict(stats), _verdict(stats)
    assert first.bandit == second.bandit


def test_max_expected_loss_is_checked_and_round_trips() -> None:
    with pytest.raises(InvalidExperimentError, match="maxExpectedLoss"):
        StoppingRule(max_expected_loss=0.0)
    spec = {
        "variants": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
        "strategy": "top-two-thompson",
        "metric": {"name": "conversion", "type": "proportion"},
        "stopping": {"maxExpectedLoss": 0.0002},
    }
    config = ExperimentConfig.from_dict(spec)
    assert config.strategy is Strategy.top_two_thompson
    assert config.stopping.max_expected_loss == 0.0002
    assert ExperimentConfig.from_dict(config.to_dict()) == config
    assert ExperimentConfig.from_dict({**spec, "stopping": {}}).stopping.max_expected_loss == (
        DEFAULT_MAX_EXPECTED_LOSS
    )


@pytest.mark.parametrize("path", ["crds/experiments.mlpy.io.yaml", "helm/mlpy/crds/experiments.mlpy.io.yaml"])
def test_the_crd_offers_every_strategy_and_the_same_default_loss(path: str) -> None:
    crd = yaml.safe_load((REPO / path).read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert spec["strategy"]["enum"] == [s.value for s in Strategy]
    assert spec["stopping"]["properties"]["maxExpectedLoss"]["default"] == DEFAULT_MAX_EXPECTED_LOSS


def test_cli_simulates_top_two_with_a_loss_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["experiment", "simulate", "--strategy", "top-two-thompson", "--metric", "proportion"]
    argv += ["--truth", "A=0.1", "--truth", "B=0.1", "--truth", "C=0.2", "--steps", "30", "--seed", "1"]
    assert main([*argv, "--max-expected-loss", "0.001", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["strategy"] == "top-two-thompson"
    assert data["winner"] == "C"
    assert data["analysis"]["stopping"]["max_expected_loss"] == 0.001
    assert data["analysis"]["bandit"]["leader"] == "C"
    assert main([*argv, "--max-expected-loss", "2"]) == 1
    assert "maxExpectedLoss 2.0 is outside (0, 1)" in capsys.readouterr().err
