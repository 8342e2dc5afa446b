"""A fairness guardrail in router mode: two real variant servers log predictions with their groups, the
router's feedback attaches outcomes, and the candidate that selects one group far more often is rolled
back while the experiment shows each variant's gap."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from mlpy.experiments import Guardrails, GuardrailWatch, InvalidExperimentError
from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key

ADMIN = {"X-API-Key": "ops"}


def traffic(rng: np.random.Generator) -> tuple[list[float], str, int]:
    """One applicant: x0 carries the truth, x1 mostly says which group they are in."""
    sex = str(rng.choice(["f", "m"]))
    x0, x1 = float(rng.normal()), float(rng.normal(1.5 if sex == "m" else -1.5))
    return [x0, x1], sex, int(x0 + rng.normal(0, 0.5) > 0)


@pytest.fixture
def loan_versions(registry: ModelRegistry) -> ModelRegistry:
    """loan v1 decides on x0 (fair across groups), v2 on x1 (the group's proxy)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 2))
    for column in (0, 1):
        model = LogisticRegression().fit(x, (x[:, column] > 0).astype(int))
        registry.register("loan", model, sensitive_features=["sex"])
    return registry


def test_a_candidate_with_a_fairness_gap_is_rolled_back(
    tmp_path: Path,
    sqlite_url: str,
    loan_versions: ModelRegistry,
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[..., Any],
) -> None:
    logged = {"predlog_sample_rate": 1.0, "predlog_store_url": sqlite_url}
    urls = {
        variant: serve_app(create_app(make_settings(models=(model,), **logged))).url
        for variant, model in (("A", "loan:1"), ("B", "loan:2"))
    }
    spec = {
        "strategy": "weighted",
        "metric": {"name": "repaid", "goal": "maximize", "type": "proportion"},
        "variants": [{"name": name, "weight": 50, "upstream": url} for name, url in urls.items()],
        "guardrails": {"maxFairnessGap": 0.3, "consecutive": 2, "minRequests": 10, "intervalSeconds": 0.2},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": "loan-ab", "spec": spec}))
    settings = ServerSettings(experiment=str(path), api_keys=(f"ops:admin:{hash_key('ops')}",), **logged)
    rng = np.random.default_rng(9)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 60
        while client.get("/experiment", headers=ADMIN).json()["weights"]["B"] > 0:
            assert time.monotonic() < deadline, client.get("/experiment", headers=ADMIN).json()
            features, sex, repaid = traffic(rng)
            body = {"features": features, "groups": {"sex": sex}}
            answer = client.post("/predict", json=body, headers=ADMIN)
            assert answer.status_code == 200, answer.text
            feedback = {"request_id": answer.json()["request_id"], "value": repaid, "outcome": repaid}
            assert client.post("/feedback", json=feedback, headers=ADMIN).status_code == 202
        shown = client.get("/experiment", headers=ADMIN).json()
    assert shown["weights"] == {"A": 1.0, "B": 0.0}
    assert "demographic_parity_difference" in shown["pinned"]["reason"]
    assert shown["guardrails"]["variants"]["B"]["fairnessGap"] > 0.3
    gaps = {
        name: report["attributes"][0]["demographic_parity_difference"]
        for name, report in shown["fairness"].items()
        if report["attributes"]
    }
    assert gaps["B"] > 0.3
    assert gaps.get("A", 0.0) < gaps["B"]


def test_the_watch_judges_the_gap_only_with_enough_samples_per_group() -> None:
    bounds = Guardrails(
        max_fairness_gap=0.1, fairness_metric="equalized_odds_difference", min_requests=30, consecutive=1
    )
    watch = GuardrailWatch(bounds, ["B"])
    small = {"B": {"sex": {"equalized_odds_difference": 0.5, "min_group_samples": 29}}}
    assert watch.close_window(small) is None
    assert watch.breaches["B"] == 0
    assert watch.last["B"]["fairnessGap"] is None
    large = {"B": {"sex": {"equalized_odds_difference": 0.5, "min_group_samples": 30}}}
    breach = watch.close_window(large)
    assert breach is not None
    assert "equalized_odds_difference 0.500 above 0.1" in breach.reason
    fair = {"B": {"sex": {"equalized_odds_difference": 0.05, "min_group_samples": 300}}}
    assert watch.close_window(fair) is None
    assert watch.breaches["B"] == 0
    assert Guardrails.from_dict(bounds.to_dict()) == bounds
    with pytest.raises(InvalidExperimentError, match="fairnessMetric"):
        Guardrails.from_dict({"maxFairnessGap": 0.1, "fairnessMetric": "accuracy"})
    with pytest.raises(InvalidExperimentError, match="maxFairnessGap"):
        Guardrails(max_fairness_gap=1.5)
