"""Each audited action leaves exactly one entry, written in the action's own transaction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlpy.audit import AuditEntry, AuditLog, InvalidEntryError
from mlpy.drift import check, record
from mlpy.experiments import ExperimentConfig, ExperimentRepository
from mlpy.experiments.sql_stats import SqlStats
from mlpy.registry import AliasError, ModelRegistry


@pytest.fixture(scope="module")
def model() -> LogisticRegression:
    x = np.random.default_rng(0).normal(size=(50, 2))
    return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))


@pytest.fixture
def registry(store_url: str, tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(store_url, str(tmp_path / "artifacts"))


def only_new(log: AuditLog, before: int) -> AuditEntry:
    """The one entry appended since ``before`` entries were there."""
    added = [e for e in log.entries() if e.seq > before]
    assert len(added) == 1, added
    return added[0]


def test_register_promote_rollback_and_gc_each_leave_one_entry(
    registry: ModelRegistry, model: LogisticRegression, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPY_USER", "ana")
    log = AuditLog(registry.store)

    registry.register("credit", model, description="baseline")
    entry = only_new(log, 0)
    assert (entry.action, entry.subject, entry.actor) == ("registry.register", "credit", "ana")
    assert (entry.from_value, entry.to_value, entry.reason) == (None, "1", "baseline")
    assert entry.detail["sha256"] == registry.get_version("credit", 1).sha256

    registry.register("credit", model)
    registry.register("credit", model)
    registry.promote("credit", 1, reason="first release")
    entry = only_new(log, 3)
    assert (entry.action, entry.subject) == ("registry.promote", "credit@production")
    assert (entry.from_value, entry.to_value, entry.reason) == (None, "1", "first release")

    registry.promote("credit", 3, reason="better auc")
    registry.rollback("credit", reason="latency regression")
    entry = only_new(log, 5)
    assert (entry.action, entry.subject) == ("registry.rollback", "credit@production")
    assert (entry.from_value, entry.to_value, entry.reason) == ("3", "1", "latency regression")

    registry.gc("credit", keep=1)
    entry = only_new(log, 6)
    assert (entry.action, entry.subject) == ("registry.gc", "credit")
    assert (entry.from_value, entry.to_value) == ("1,2,3", "1,3")
    assert "keep the 1 newest" in (entry.reason or "")
    assert entry.detail == {"deleted": [2], "protected": {"1": ["production"]}}
    assert log.verify().ok


def test_what_does_not_happen_leaves_no_entry(registry: ModelRegistry, model: LogisticRegression) -> None:
    log = AuditLog(registry.store)
    registry.register("credit", model)
    registry.gc("credit", keep=0, dry_run=True)
    registry.gc("credit", keep=5)
    with pytest.raises(AliasError):
        registry.rollback("credit")
    assert [e.action for e in log.entries()] == ["registry.register"]


def test_an_action_that_fails_leaves_no_entry_and_an_entry_that_fails_undoes_the_action(
    registry: ModelRegistry, model: LogisticRegression, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(registry.store)
    registry.register("credit", model)
    monkeypatch.setenv("MLPY_USER", "x" * 300)  # too long an actor: the entry cannot be written
    with pytest.raises(InvalidEntryError, match="actor has 1 to 256"):
        registry.promote("credit", 1)
    assert registry.history("credit") == []
    assert len(log.entries()) == 1


def test_a_recorded_drift_check_leaves_its_verdict(store_url: str) -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"age": rng.normal(40, 5, 2000)})
    drifted = pd.DataFrame({"age": rng.normal(50, 5, 2000)})
    record(check(reference, reference), store=store_url, dataset="credit")
    check_id = record(check(reference, drifted), store=store_url, dataset="credit")
    first, second = AuditLog(store_url).entries(action="drift")
    assert (first.subject, first.from_value, first.to_value) == ("drift/credit", None, "no drift")
    assert (second.from_value, second.to_value) == ("no drift", "drift")
    assert "1 of 1 columns drifted" in (second.reason or "")
    assert second.detail["check"] == check_id
    assert second.detail["drifted"] == ["age"]


def test_experiments_record_start_weights_and_decision(store_url: str) -> None:
    log = AuditLog(store_url)
    repository = ExperimentRepository(log.store)
    config = ExperimentConfig.from_dict(
        {"variants": [{"name": "a", "modelVersion": "1"}, {"name": "b", "modelVersion": "2"}]}
    )
    repository.create("checkout", config)
    stats = SqlStats(log.store)
    stats.publish_weights("checkout", {"a": 0.5, "b": 0.5}, "basis")
    stats.publish_weights("checkout", {"a": 1.0, "b": 0.0}, "basis", "guardrail: b error rate 9% > 5%")
    repository.stop("checkout", repository.analyse("checkout"))
    start, first, second, decision = log.entries(subject="experiment/checkout")
    assert (start.action, start.to_value) == ("experiment.start", "running")
    assert start.detail == {"strategy": str(config.strategy), "variants": ["a", "b"]}
    assert (first.action, first.from_value, first.to_value) == ("experiment.weights", None, "a=0.5 b=0.5")
    assert (second.from_value, second.to_value) == ("a=0.5 b=0.5", "a=1 b=0")
    assert second.reason == "guardrail: b error rate 9% > 5%"
    assert second.detail == {"revision": 2, "basis": "basis"}
    assert (decision.action, decision.from_value, decision.to_value) == (
        "experiment.decision",
        "running",
        "stopped",
    )
    assert decision.detail["decision"] == str(repository.get("checkout").decision)
