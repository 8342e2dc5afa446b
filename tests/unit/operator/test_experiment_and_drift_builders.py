"""Experiment and DriftMonitor children and statuses from pure functions, against reviewed YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mlpy.drift import DriftProfile
from mlpy_operator.builders import driftmonitor as drift
from mlpy_operator.builders import experiment as exp
from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.drift_job import run_check
from mlpy_operator.reconcile.driftmonitor import verdict_status
from mlpy_operator.reconcile.experiment import final_weights
from mlpy_operator.reconcile.modelversion import desired_status
from mlpy_operator.specs import ExperimentSpec, ModelVersionSpec

EXPECTED = Path(__file__).parent / "expected"
SPEC: dict[str, Any] = {
    "model": "credit",
    "variants": [
        {"name": "control", "modelVersion": "credit-v1", "weight": 50},
        {"name": "candidate", "modelVersion": "credit-v2", "weight": 50},
    ],
    "strategy": "thompson-sampling",
    "epsilon": 0.1,
    "metric": {"name": "conversion", "goal": "maximize", "type": "proportion"},
    "stopping": {"minSamplesPerVariant": 100, "confidence": 0.95, "maxDuration": "168h"},
    "promotion": "auto",
}
TYPED = ExperimentSpec.from_spec(SPEC)
#: What the chart's values give the routers and the drift jobs.
ROUTER = PodDefaults(
    env={"MLPY_EXPERIMENT_STATS": "redis://redis:6379/0"},
    secret="mlpy-stores",
    resources={"requests": {"cpu": "100m", "memory": "128Mi"}},
)
DRIFT_JOB = PodDefaults(
    env={"MLPY_STORE": "postgresql://mlpy@db/mlpy", "MLPY_PUSHGATEWAY": "http://pushgateway:9091"},
    secret="mlpy-stores",
    resources={"requests": {"cpu": "100m", "memory": "256Mi"}},
    image_pull_secrets=("regcred",),
)
UPSTREAMS = {
    "control": "http://credit-v1.models.svc.cluster.local",
    "candidate": "http://credit-v2.models.svc.cluster.local",
}


def test_router_children_match_the_reviewed_yaml() -> None:
    document = exp.router_document("models", "credit-ab", TYPED, UPSTREAMS)
    built = [
        exp.config_map("credit-ab", "models", "credit", document),
        exp.deployment("credit-ab", "models", "credit", document, defaults=ROUTER, replicas=2),
        exp.disruption_budget("credit-ab", "models", "credit"),
        exp.service("credit-ab", "models", "credit"),
    ]
    assert built == list(yaml.safe_load_all((EXPECTED / "experiment.yaml").read_text()))


def test_router_pods_take_the_same_pod_fields_as_serving_pods() -> None:
    router = {"serviceAccountName": "edge", "nodeSelector": {"pool": "edge"}, "podLabels": {"team": "risk"}}
    typed = ExperimentSpec.from_spec({**SPEC, "router": router})
    assert typed.router_pod.service_account == "edge"
    document = exp.router_document("models", "credit-ab", typed, UPSTREAMS)
    template = exp.deployment(
        "credit-ab", "models", "credit", document, defaults=ROUTER, pod=typed.router_pod
    )["spec"]["template"]
    assert template["spec"]["serviceAccountName"] == "edge"
    assert template["spec"]["nodeSelector"] == {"pool": "edge"}
    assert template["metadata"]["labels"]["team"] == "risk"
    assert "imagePullSecrets" not in template["spec"]  # none given, none from the chart


def test_concluded_router_sends_everything_to_the_winner() -> None:
    running = exp.router_document("models", "credit-ab", TYPED, UPSTREAMS)
    to_candidate = final_weights(TYPED, "candidate")
    concluded = exp.router_document("models", "credit-ab", TYPED, UPSTREAMS, to_candidate)
    assert {v["name"]: v["weight"] for v in concluded["spec"]["variants"]} == {"control": 0, "candidate": 100}
    assert concluded["spec"]["strategy"] == "weighted"
    old = exp.deployment("e", "ns", "m", running, defaults=PodDefaults())
    new = exp.deployment("e", "ns", "m", concluded, defaults=PodDefaults())
    assert (
        old["spec"]["template"]["metadata"]["annotations"]
        != new["spec"]["template"]["metadata"]["annotations"]
    )
    assert final_weights(TYPED, None) == {"control": 1.0, "candidate": 0.0}


def test_drift_children_match_the_reviewed_yaml() -> None:
    raw = {
        "reference": {"uri": "s3://data/credit/reference.npz"},
        "window": "24h",
        "methods": {"income": "psi"},
        "thresholds": {"income": 0.2},
        "driftShare": 0.3,
        "features": ["income", "region"],
    }
    settings = drift.job_settings(raw, "credit", None)
    built = [
        drift.cronjob(
            "credit-drift",
            "models",
            "0 * * * *",
            settings,
            defaults=DRIFT_JOB,
        ),
        drift.service_account("credit-drift", "models"),
        drift.role("credit-drift", "models"),
        drift.role_binding("credit-drift", "models"),
    ]
    assert built == list(yaml.safe_load_all((EXPECTED / "driftmonitor.yaml").read_text()))


def test_drift_job_pods_get_the_charts_pull_secrets_as_serving_pods_do() -> None:
    """``global.imagePullSecrets`` reaches the CronJob's pods through the operator's settings."""
    from mlpy_operator.runtime import OperatorConfig

    def pod_spec(environment: dict[str, str]) -> dict[str, Any]:
        defaults = OperatorConfig.from_env(environment).pods("driftJob")
        job = drift.cronjob("credit-drift", "models", "0 * * * *", {}, defaults=defaults)
        return dict(job["spec"]["jobTemplate"]["spec"]["template"]["spec"])

    secrets = pod_spec({"MLPY_IMAGE_PULL_SECRETS": "pull-a, pull-b"})["imagePullSecrets"]
    assert secrets == [{"name": "pull-a"}, {"name": "pull-b"}]
    assert "imagePullSecrets" not in pod_spec({})  # none from the chart, none in the pod


def test_verdict_status_keeps_a_bounded_history() -> None:
    """The status is built from a real DriftReport, as the job builds it (not from a dict written to
    look like one: that is how "checked None rows" went unseen)."""
    rng = np.random.default_rng(3)
    regions = ["n", "s"]  # the same shares in both: only the income drifts
    reference = pd.DataFrame({"income": rng.normal(50_000, 5_000, 2_000), "region": regions * 1_000})
    current = pd.DataFrame({"income": rng.normal(65_000, 5_000, 600), "region": regions * 300})
    settings = {"reference": DriftProfile.from_data(reference), "driftShare": 0.5}
    report = dict(run_check(settings, current).to_dict())
    status: dict[str, Any] = {}
    for minute in range(25):
        status = verdict_status(status, report, f"2026-11-27T10:{minute:02d}:00Z", generation=3)
    assert status["driftedColumns"] == ["income"]
    assert len(status["history"]) == 20
    assert status["history"][0]["time"] == "2026-11-27T10:24:00Z"
    detected = next(c for c in status["conditions"] if c["type"] == "DriftDetected")
    assert (detected["status"], detected["observedGeneration"]) == ("True", 3)
    assert detected["message"] == "1 of 2 columns drifted: income"
    checked = next(c for c in status["conditions"] if c["type"] == "LastCheckSucceeded")
    assert checked["message"] == "checked 600 rows"
    assert status["history"][0]["rows"] == 600


def test_modelversion_status_phases() -> None:
    body = {"metadata": {"name": "m-v2", "namespace": "ns", "generation": 4}}
    spec = ModelVersionSpec.from_spec(
        {
            "model": "m",
            "version": 2,
            "stage": "production",
            "replicas": 2,
            "artifact": {"uri": "u", "sha256": "a" * 64},
        }
    )
    progressing = desired_status(body, spec, 1, holder="m-v2")
    assert progressing["phase"] == "Progressing"
    ready = desired_status({**body, "status": progressing}, spec, 2, holder="m-v2")
    assert ready["phase"] == "Ready"
    assert all(c["observedGeneration"] == 4 for c in ready["conditions"])
    conflict = desired_status(body, spec, 2, holder="m-v1")
    assert conflict["phase"] == "Conflict"
    assert (
        "m-v1 is already production"
        in next(c for c in conflict["conditions"] if c["type"] == "Conflict")["message"]
    )


def test_experiment_spec_is_parsed_once_into_what_the_operator_uses() -> None:
    assert TYPED.model == "credit"
    assert TYPED.variants == ["control", "candidate"]
    assert TYPED.versions == {"control": "credit-v1", "candidate": "credit-v2"}
    assert (TYPED.promotion, TYPED.router_replicas, TYPED.config.epsilon) == ("auto", None, 0.1)
    assert TYPED.raw == SPEC


def test_experiment_spec_that_cannot_work_names_the_problem() -> None:
    import pytest

    from mlpy_operator.errors import SpecError

    with pytest.raises(SpecError, match="two or more distinct variants"):
        ExperimentSpec.from_spec({**SPEC, "variants": SPEC["variants"][:1]})
    without_version = [{"name": "control", "weight": 50}, {"name": "candidate", "weight": 50}]
    with pytest.raises(SpecError, match="spec is incomplete: 'modelVersion'"):
        ExperimentSpec.from_spec({**SPEC, "variants": without_version})


def test_the_status_shows_the_evaluation_in_camel_case() -> None:
    from datetime import UTC, datetime, timedelta

    from mlpy.experiments import VariantStats, evaluate
    from mlpy_operator.reconcile.experiment import evaluation_status

    start = datetime(2026, 1, 1, tzinfo=UTC)
    stats = {
        "control": VariantStats(assigned=2_000, expected=2_000.0, n=2_000, total=200.0, total_sq=200.0),
        "candidate": VariantStats(assigned=2_000, expected=2_000.0, n=2_000, total=400.0, total_sq=400.0),
    }
    status = evaluation_status(evaluate(TYPED.config, stats, start, start + timedelta(days=1), seed=1))
    assert (status["decision"], status["winner"]) == ("ship", "candidate")
    assert status["variants"]["candidate"] == {"samples": 2_000, "assigned": 2_000, "mean": 0.2}
    assert status["pValue"] < 0.05
    assert status["lift"] > 0
    assert set(status) == {"weights", "variants", "pValue", "lift", "decision", "winner", "reasons", "srm"}
