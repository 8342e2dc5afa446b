"""An Experiment on the real API server: router children, bandit weights, conclusion, auto-promotion."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mlpy.experiments.backends import open_backend
from tests.experiment_traffic import SPEC, early, late

pytestmark = pytest.mark.e2e

GROUP, VERSION = "mlpy.io", "v1alpha1"


def model_version(name: str, version: int, stage: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelVersion",
        "metadata": {"name": name},
        "spec": {
            "model": "credit",
            "version": version,
            "stage": stage,
            "artifact": {"uri": f"s3://models/credit/{version}/model.skops", "sha256": str(version) * 64},
        },
    }


EXPERIMENT = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "Experiment",
    "metadata": {"name": "credit-ab"},
    "spec": SPEC,
}


def test_experiment_routes_learns_concludes_and_promotes(
    operator: None, wait: Any, custom: Any, k8s_api: Any, k8s_namespace: str, stats_url: str
) -> None:
    from kubernetes import client

    apps, core = client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api)
    ns = k8s_namespace

    def mv(name: str) -> dict[str, Any]:
        return dict(custom.get_namespaced_custom_object(GROUP, VERSION, ns, "modelversions", name))

    def exp() -> dict[str, Any]:
        return dict(custom.get_namespaced_custom_object(GROUP, VERSION, ns, "experiments", "credit-ab"))

    for body in (model_version("credit-v1", 1, "production"), model_version("credit-v2", 2, "none")):
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, "modelversions", body)
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "experiments", EXPERIMENT)

    router = wait("the router Deployment", lambda: apps.read_namespaced_deployment("credit-ab-router", ns))
    env = {e.name: e.value for e in router.spec.template.spec.containers[0].env}
    assert env["MLPY_EXPERIMENT_STATS"] == stats_url
    config = yaml.safe_load(core.read_namespaced_config_map("credit-ab-router", ns).data["experiment.yaml"])
    assert config["name"] == f"{ns}.credit-ab"
    assert [v["upstream"] for v in config["spec"]["variants"]] == [
        f"http://credit-v1.{ns}.svc.cluster.local",
        f"http://credit-v2.{ns}.svc.cluster.local",
    ]
    wait(
        "the model's Service to front the router",
        lambda: (
            core.read_namespaced_service("credit", ns).spec.selector == {"mlpy.io/experiment": "credit-ab"}
        ),
    )
    wait("phase Running", lambda: (exp().get("status") or {}).get("phase") == "Running")

    # Early traffic, past the minimum sample but not yet conclusive: the bandit leans to the better variant.
    early(f"{ns}.credit-ab", open_backend(stats_url))
    seen: list[dict[str, Any]] = []

    def status_where(accept: Any) -> dict[str, Any] | None:
        seen.append(exp().get("status") or {})
        return seen[-1] if accept(seen[-1]) else None

    def waited(what: str, accept: Any) -> dict[str, Any]:
        try:
            return dict(wait(what, lambda: status_where(accept), timeout=120))
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last status: {seen[-1] if seen else {}}") from exc

    leaning = waited(
        "Thompson sampling to shift weight to the candidate",
        lambda s: s.get("weights", {}).get("candidate", 0) > 0.6,
    )
    assert leaning["phase"] == "Running", leaning
    assert leaning["decision"] == "keep_running", leaning

    late(f"{ns}.credit-ab", open_backend(stats_url))
    final = waited("the experiment to conclude", lambda s: s.get("phase") == "Concluded")
    assert final["winner"] == "candidate"
    assert final["decision"] == "ship"
    assert final["weights"] == {"control": 0.0, "candidate": 1.0}
    assert final["pValue"] is not None
    assert final["pValue"] < 0.05
    assert final["lift"] > 0
    assert final["variants"]["candidate"]["samples"] >= 100
    concluded = next(c for c in final["conditions"] if c["type"] == "Concluded")
    assert concluded["status"] == "True"
    assert concluded["observedGeneration"] == exp()["metadata"]["generation"]

    routed = yaml.safe_load(core.read_namespaced_config_map("credit-ab-router", ns).data["experiment.yaml"])
    assert {v["name"]: v["weight"] for v in routed["spec"]["variants"]} == {"control": 0, "candidate": 100}
    wait("auto-promotion of the winner", lambda: mv("credit-v2")["spec"]["stage"] == "production")
    assert mv("credit-v1")["spec"]["stage"] == "archived"
    events = core.list_namespaced_event(ns, field_selector="involvedObject.name=credit-ab").items
    assert any(e.reason == "Promoted" for e in events)

    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, "experiments", "credit-ab")
    wait(
        "the model's Service to go back to the (new) production version",
        lambda: (
            core.read_namespaced_service("credit", ns).spec.selector == {"mlpy.io/modelversion": "credit-v2"}
        ),
    )


def test_experiment_with_a_missing_version_waits(
    operator: None, wait: Any, custom: Any, k8s_namespace: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, k8s_namespace, "experiments", EXPERIMENT)

    def pending() -> bool:
        status = (
            custom.get_namespaced_custom_object(
                GROUP, VERSION, k8s_namespace, "experiments", "credit-ab"
            ).get("status")
            or {}
        )
        conds = status.get("conditions") or []
        return status.get("phase") == "Pending" and any("not found" in c.get("message", "") for c in conds)

    wait("a Pending status naming the missing ModelVersion", pending)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strategy": "greedy"}, "spec.strategy"),
        ({"variants": [{"name": "only", "modelVersion": "x"}]}, "spec.variants"),
        ({"epsilon": 2}, "spec.epsilon"),
        ({"stopping": {"maxDuration": "soon"}}, "spec.stopping.maxDuration"),
    ],
)
def test_invalid_experiments_are_rejected(
    crds: None, custom: Any, k8s_namespace: str, change: dict[str, Any], message: str
) -> None:
    from kubernetes.client.exceptions import ApiException

    body = {**EXPERIMENT, "spec": {**EXPERIMENT["spec"], **change}}
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, k8s_namespace, "experiments", body)
    assert caught.value.status == 422
    assert message in caught.value.body
