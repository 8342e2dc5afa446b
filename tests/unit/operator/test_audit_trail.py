"""The operator's audit entries: the stable Service created and switched, Experiments started,
decided and promoted; none without a metadata store, and a store it cannot reach fails nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mlpy.audit import AuditLog
from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.handlers.experiment import _announce
from mlpy_operator.reconcile import experiment as exp_rec
from mlpy_operator.reconcile.modelversion import reconcile_stable_service
from mlpy_operator.runtime import config
from mlpy_operator.specs import ExperimentSpec
from tests.unit.operator.fake_kube import FakeKube
from tests.unit.operator.test_reconcile_statuses import NS, experiment, version, weighted_experiment


@pytest.fixture
def store(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AuditLog]:
    """The operator configured with a metadata store, as the chart's stores.metadata does."""
    monkeypatch.setenv("MLPY_PREDLOG_STORE", sqlite_url)
    monkeypatch.setenv("MLPY_OPERATOR_SERVICE_ACCOUNT", "mlpy-operator")
    config.cache_clear()
    yield AuditLog(sqlite_url)
    config.cache_clear()


def test_the_stable_service_is_audited_when_created_and_when_switched(store: AuditLog) -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "production")
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]  # nothing changed: no entry
    experiment(kube, "Running", router_ready=1)
    reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    created, switched = store.entries()
    assert (created.action, created.subject, created.actor) == (
        "operator.service",
        "service/models/credit",
        "operator:mlpy-operator",
    )
    assert (created.from_value, created.to_value) == (None, "mlpy.io/modelversion=credit-v1")
    assert created.reason == "created for production version credit-v1"
    assert (switched.from_value, switched.to_value) == (
        "mlpy.io/modelversion=credit-v1",
        "mlpy.io/experiment=ab",
    )
    assert switched.reason == "switched to experiment ab's router"
    assert store.verify().ok


def test_an_experiment_is_audited_when_it_starts_and_when_it_concludes(store: AuditLog) -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    body = weighted_experiment(kube, stopping={"maxDuration": "1h"})
    started = datetime(2026, 1, 1, tzinfo=UTC)
    status, _ = exp_rec.reconcile_experiment(kube, body, defaults=PodDefaults(), backend=None, now=started)  # type: ignore[arg-type]
    body["status"] = status
    later = datetime(2026, 1, 1, 2, tzinfo=UTC)  # past maxDuration with no samples: inconclusive
    status, winner = exp_rec.reconcile_experiment(kube, body, defaults=PodDefaults(), backend=None, now=later)  # type: ignore[arg-type]
    assert (winner, status["decision"]) == ("", "inconclusive")
    start, decision = store.entries(subject="experiment/models/ab")
    assert (start.action, start.to_value, start.reason) == (
        "operator.experiment.start",
        "Running",
        "router ab-router applied",
    )
    assert (decision.action, decision.from_value, decision.to_value) == (
        "operator.experiment.decision",
        "Running",
        "inconclusive",
    )
    assert decision.reason == "; ".join(status["reasons"])
    assert decision.detail["winner"] is None
    # Reconciling the concluded experiment again adds nothing.
    body["status"] = status
    exp_rec.reconcile_experiment(kube, body, defaults=PodDefaults(), backend=None, now=later)  # type: ignore[arg-type]
    assert len(store.entries(subject="experiment/models/ab")) == 2


def test_auto_promotion_names_the_archived_and_the_promoted_version(store: AuditLog) -> None:
    kube = FakeKube()
    version(kube, "credit-v1", "production")
    version(kube, "credit-v2", "none")
    body = weighted_experiment(kube, promotion="auto")
    spec = ExperimentSpec.from_spec(body["spec"])
    status = {"decision": "ship", "reasons": ["candidate won"]}
    _announce(kube, body, spec, status, "candidate")  # type: ignore[arg-type]
    (entry,) = store.entries()
    assert (entry.action, entry.subject) == ("operator.experiment.promote", "experiment/models/ab")
    assert (entry.from_value, entry.to_value) == ("credit-v1", "credit-v2")
    assert entry.detail == {"model": "credit", "archived": ["credit-v1"]}


def test_without_a_store_the_operator_writes_nothing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLPY_PREDLOG_STORE", raising=False)
    config.cache_clear()
    try:
        kube = FakeKube()
        version(kube, "credit-v1", "production")
        reconcile_stable_service(kube, NS, "credit")  # type: ignore[arg-type]
    finally:
        config.cache_clear()
    assert kube.get("v1", "Service", "credit", NS) is not None
    assert AuditLog(sqlite_url).entries() == []


def test_a_store_it_cannot_reach_is_a_warning_not_a_failed_reconcile(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A closed port on this machine: the connection is refused at once.
    monkeypatch.setenv("MLPY_PREDLOG_STORE", "postgresql://mlpy:mlpy@127.0.0.1:1/mlpy")
    config.cache_clear()
    try:
        kube = FakeKube()
        version(kube, "credit-v1", "production")
        with caplog.at_level(logging.WARNING, logger="mlpy_operator"):
            assert reconcile_stable_service(kube, NS, "credit") == "credit-v1"  # type: ignore[arg-type]
    finally:
        config.cache_clear()
    assert kube.get("v1", "Service", "credit", NS) is not None
    (warning,) = [r for r in caplog.records if "audit entry" in r.getMessage()]
    assert "operator.service for service/models/credit not written" in warning.getMessage()
