"""The operator against a real API server: ModelVersion children, status, GC, conflicts, promotion."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.e2e

GROUP, VERSION = "mlpy.io", "v1alpha1"


def model_version(
    name: str, *, model: str = "credit", version: int = 1, stage: str = "none", sha: str = "a"
) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelVersion",
        "metadata": {"name": name},
        "spec": {
            "model": model,
            "version": version,
            "stage": stage,
            "artifact": {"uri": f"s3://models/{model}/{version}/model.skops", "sha256": sha * 64},
        },
    }


def create(custom: Any, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    return dict(custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelversions", body))


def get_mv(custom: Any, namespace: str, name: str) -> dict[str, Any]:
    return dict(custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "modelversions", name))


def patch_spec(custom: Any, namespace: str, name: str, spec: dict[str, Any]) -> None:
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "modelversions", name, {"spec": spec})


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == kind), None)


def test_modelversion_creates_children_and_reports_ready(
    operator: None, wait: Any, custom: Any, k8s_api: Any, k8s_namespace: str
) -> None:
    from kubernetes import client

    apps, core = client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api)
    created = create(custom, k8s_namespace, model_version("credit-v1", stage="production"))
    deployment = wait("the Deployment", lambda: apps.read_namespaced_deployment("credit-v1", k8s_namespace))
    owner = deployment.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.uid) == ("ModelVersion", "credit-v1", created["metadata"]["uid"])
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
    assert env["MLPY_MODEL_SHA256"] == "a" * 64
    service = wait("the version's Service", lambda: core.read_namespaced_service("credit-v1", k8s_namespace))
    assert service.spec.selector == {"mlpy.io/modelversion": "credit-v1"}
    stable = wait("the stable Service", lambda: core.read_namespaced_service("credit", k8s_namespace))
    assert stable.spec.selector == {"mlpy.io/modelversion": "credit-v1"}

    def ready() -> dict[str, Any] | None:
        mv = get_mv(custom, k8s_namespace, "credit-v1")
        return mv if (mv.get("status") or {}).get("phase") == "Ready" else None

    mv = wait("phase Ready (kwok runs the pod)", ready, timeout=90)
    generation = mv["metadata"]["generation"]
    for kind in ("Ready", "ArtifactVerified"):
        cond = condition(mv, kind)
        assert cond is not None
        assert cond["status"] == "True"
        assert cond["observedGeneration"] == generation
    assert mv["status"]["readyReplicas"] == 1
    assert mv["status"]["endpoint"] == f"http://credit-v1.{k8s_namespace}.svc.cluster.local"
    # The operator never writes the spec back.
    assert mv["spec"] == {**created["spec"]}


def test_kubectl_scale_and_an_autoscaler_drive_the_replicas(
    operator: None, wait: Any, custom: Any, k8s_api: Any, k8s_namespace: str
) -> None:
    """The scale subresource, as `kubectl scale mv/NAME --replicas 3` uses it, and a
    HorizontalPodAutoscaler reading it (AbleToScale: it found the resource and its selector)."""
    from kubernetes import client

    apps = client.AppsV1Api(k8s_api)
    create(custom, k8s_namespace, model_version("scaled-v1"))
    wait("the Deployment", lambda: apps.read_namespaced_deployment("scaled-v1", k8s_namespace))
    custom.patch_namespaced_custom_object_scale(
        GROUP, VERSION, k8s_namespace, "modelversions", "scaled-v1", {"spec": {"replicas": 3}}
    )
    wait(
        "3 replicas in the Deployment",
        lambda: apps.read_namespaced_deployment("scaled-v1", k8s_namespace).spec.replicas == 3,
    )

    def scaled() -> dict[str, Any] | None:
        scale = custom.get_namespaced_custom_object_scale(
            GROUP, VERSION, k8s_namespace, "modelversions", "scaled-v1"
        )
        return scale if (scale.get("status") or {}).get("replicas") == 3 else None

    scale = wait("the scale subresource to report 3 pods (kwok runs them)", scaled, timeout=90)
    assert scale["status"]["selector"] == "mlpy.io/modelversion=scaled-v1"
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "scaled-v1"},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ModelVersion",
                "name": "scaled-v1",
            },
            "minReplicas": 2,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }
    autoscaling = client.AutoscalingV2Api(k8s_api)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(k8s_namespace, hpa)

    def able_to_scale() -> bool:
        status = autoscaling.read_namespaced_horizontal_pod_autoscaler("scaled-v1", k8s_namespace).status
        return any(c.type == "AbleToScale" and c.status == "True" for c in (status.conditions or []))

    wait("the autoscaler to read the ModelVersion's scale", able_to_scale, timeout=90)


def test_spec_change_rolls_the_deployment_and_deleted_children_come_back(
    operator: None, wait: Any, custom: Any, k8s_api: Any, k8s_namespace: str
) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(k8s_api)
    create(custom, k8s_namespace, model_version("m-v1"))
    first = wait("the Deployment", lambda: apps.read_namespaced_deployment("m-v1", k8s_namespace))
    patch_spec(
        custom, k8s_namespace, "m-v1", {"version": 2, "artifact": {"uri": "s3://m/2", "sha256": "b" * 64}}
    )

    def rolled() -> bool:
        d = apps.read_namespaced_deployment("m-v1", k8s_namespace)
        env = {e.name: e.value for e in d.spec.template.spec.containers[0].env}
        return env["MLPY_MODEL_VERSION"] == "2" and d.metadata.generation > first.metadata.generation

    wait("the Deployment to roll to version 2", rolled)
    apps.delete_namespaced_deployment("m-v1", k8s_namespace)
    again = wait(
        "the deleted Deployment to be recreated",
        lambda: (
            (d := apps.read_namespaced_deployment("m-v1", k8s_namespace))
            and d.metadata.uid != first.metadata.uid
            and d
        ),
    )
    assert again.spec.template.metadata.annotations["mlpy.io/artifact-sha256"] == "b" * 64


def test_second_production_version_conflicts_until_the_first_steps_down(
    operator: None, wait: Any, custom: Any, k8s_api: Any, k8s_namespace: str
) -> None:
    from kubernetes import client

    core = client.CoreV1Api(k8s_api)
    create(custom, k8s_namespace, model_version("credit-v1", stage="production"))
    wait("v1 to hold the stable Service", lambda: core.read_namespaced_service("credit", k8s_namespace))
    create(custom, k8s_namespace, model_version("credit-v2", version=2, stage="production", sha="b"))

    def conflicted() -> bool:
        mv = get_mv(custom, k8s_namespace, "credit-v2")
        cond = condition(mv, "Conflict")
        return bool(cond and cond["status"] == "True" and mv["status"]["phase"] == "Conflict")

    wait("a Conflict condition on v2", conflicted)
    assert (
        core.read_namespaced_service("credit", k8s_namespace).spec.selector["mlpy.io/modelversion"]
        == "credit-v1"
    )

    # The GitOps promotion: v1 steps down in the manifests, and the stable Service moves to v2.
    patch_spec(custom, k8s_namespace, "credit-v1", {"stage": "archived"})
    wait(
        "the stable Service to move to v2",
        lambda: (
            core.read_namespaced_service("credit", k8s_namespace).spec.selector["mlpy.io/modelversion"]
            == "credit-v2"
        ),
    )

    def resolved() -> bool:
        cond = condition(get_mv(custom, k8s_namespace, "credit-v2"), "Conflict")
        return bool(cond and cond["status"] == "False")

    wait("v2's conflict to clear", resolved)


def test_deleting_a_modelversion_collects_its_children(
    operator: None, wait: Any, custom: Any, k8s_api: Any, k8s_namespace: str
) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    apps, core = client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api)
    create(custom, k8s_namespace, model_version("gone-v1", model="gone", stage="production"))
    wait("the Deployment", lambda: apps.read_namespaced_deployment("gone-v1", k8s_namespace))
    wait("the stable Service", lambda: core.read_namespaced_service("gone", k8s_namespace))
    custom.delete_namespaced_custom_object(GROUP, VERSION, k8s_namespace, "modelversions", "gone-v1")

    def collected() -> bool:
        for read in (
            lambda: apps.read_namespaced_deployment("gone-v1", k8s_namespace),
            lambda: core.read_namespaced_service("gone-v1", k8s_namespace),
            lambda: core.read_namespaced_service("gone", k8s_namespace),
        ):
            try:
                read()
                return False
            except ApiException as exc:
                if exc.status != 404:
                    raise
        return True

    wait("garbage collection of every child", collected, timeout=90)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"artifact": {"uri": "s3://x", "sha256": "not-a-hash"}}, "must be the artifact's SHA-256"),
        ({"stage": "prod"}, "spec.stage"),
        ({"replicas": -1}, "spec.replicas"),
        ({"model": "Bad_Name"}, "must be a DNS label: lower-case letters, digits"),
        ({"serving": {"sensitiveFeatures": ["age band"]}}, "must be a feature name: a letter, then"),
    ],
)
def test_invalid_manifests_are_rejected_by_the_api_server(
    crds: None, custom: Any, k8s_namespace: str, change: dict[str, Any], message: str
) -> None:
    from kubernetes.client.exceptions import ApiException

    body = model_version("bad")
    body["spec"].update(change)
    with pytest.raises(ApiException) as caught:
        create(custom, k8s_namespace, body)
    assert caught.value.status == 422
    assert message in caught.value.body


def test_registry_manifest_applies_cleanly(crds: None, custom: Any, k8s_namespace: str) -> None:
    """What `mlpy registry manifest` prints is a valid ModelVersion for the API server."""
    from mlpy.registry.manifest import model_version_manifest
    from mlpy.registry.records import ModelVersion

    record = ModelVersion(
        "Credit_Risk", 7, "s3://b/m.skops", "skops", "c" * 64, 10, created_at=_now(), aliases=("production",)
    )
    manifest = yaml.safe_load(yaml.safe_dump(model_version_manifest(record)))
    created = create(custom, k8s_namespace, manifest)
    assert created["spec"]["stage"] == "production"
    assert created["spec"]["replicas"] == 1


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
