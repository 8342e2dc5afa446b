"""Proof that the test control plane is a real one: controllers, scheduler, RBAC and CRD validation.

Each test exercises a behaviour a mock API would fake and the mlpy operator relies on.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

import localk8s as local
from tests.e2e.conftest import K8sCluster, unavailable

pytestmark = pytest.mark.e2e

T = TypeVar("T")


def eventually(what: str, probe: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.5) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def labels(app: str) -> dict[str, str]:
    return {"app": app}


def container(name: str = "main") -> client.V1Container:
    # kwok never pulls: the image only has to be a valid reference.
    return client.V1Container(name=name, image="registry.invalid/mlpy/e2e:1")


def deployment(name: str, replicas: int) -> client.V1Deployment:
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels(name)),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels(name)),
                spec=client.V1PodSpec(containers=[container()]),
            ),
        ),
    )


def test_deployment_pods_reach_running(k8s_api: Any, k8s_namespace: str) -> None:
    """Deployment -> ReplicaSet -> Pods (controller-manager), bound to a node (scheduler), Running (kwok)."""
    apps: Any = client.AppsV1Api(k8s_api)
    core: Any = client.CoreV1Api(k8s_api)
    apps.create_namespaced_deployment(k8s_namespace, deployment("web", replicas=2))

    def running_pods() -> list[Any] | None:
        pods = core.list_namespaced_pod(k8s_namespace, label_selector="app=web").items
        up = [p for p in pods if p.status.phase == "Running" and p.spec.node_name]
        return up if len(up) == 2 else None

    pods = eventually("2 Running pods", running_pods)
    assert all(p.status.container_statuses[0].ready for p in pods)

    def available() -> bool:
        status = apps.read_namespaced_deployment_status("web", k8s_namespace).status
        return bool(status.available_replicas == 2)

    eventually("the Deployment to report 2 available replicas", available)


def test_cronjob_spawns_job(k8s_api: Any, k8s_namespace: str) -> None:
    """The cronjob controller creates a Job at the next minute; the Job's pod runs and completes."""
    batch: Any = client.BatchV1Api(k8s_api)
    job_template = client.V1JobTemplateSpec(
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(restart_policy="Never", containers=[container()])
            ),
        )
    )
    batch.create_namespaced_cron_job(
        k8s_namespace,
        client.V1CronJob(
            metadata=client.V1ObjectMeta(name="tick"),
            spec=client.V1CronJobSpec(schedule="* * * * *", job_template=job_template),
        ),
    )
    # A "* * * * *" schedule fires at the next minute boundary: at most 60 s away.
    jobs = eventually(
        "a Job created by the CronJob",
        lambda: batch.list_namespaced_job(k8s_namespace).items or None,
        timeout=80,
        interval=1,
    )
    owner = jobs[0].metadata.owner_references[0]
    assert (owner.kind, owner.name) == ("CronJob", "tick")
    eventually(
        "the Job to succeed",
        lambda: batch.read_namespaced_job_status(jobs[0].metadata.name, k8s_namespace).status.succeeded,
        timeout=30,
    )


def test_deleting_owner_garbage_collects_children(k8s_api: Any, k8s_namespace: str) -> None:
    """The garbage collector removes dependents through ownerReferences, in cascades."""
    apps: Any = client.AppsV1Api(k8s_api)
    core: Any = client.CoreV1Api(k8s_api)
    owner = core.create_namespaced_config_map(
        k8s_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    ref = client.V1OwnerReference(api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)
    core.create_namespaced_config_map(
        k8s_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="child", owner_references=[ref]))
    )
    apps.create_namespaced_deployment(k8s_namespace, deployment("gc", replicas=1))
    eventually(
        "a Running pod of the Deployment",
        lambda: [
            p
            for p in core.list_namespaced_pod(k8s_namespace, label_selector="app=gc").items
            if p.status.phase == "Running"
        ],
    )

    core.delete_namespaced_config_map("owner", k8s_namespace)
    apps.delete_namespaced_deployment(
        "gc", k8s_namespace, body=client.V1DeleteOptions(propagation_policy="Background")
    )

    def gone() -> bool:
        children = [c.metadata.name for c in core.list_namespaced_config_map(k8s_namespace).items]
        replicasets = apps.list_namespaced_replica_set(k8s_namespace, label_selector="app=gc").items
        pods = core.list_namespaced_pod(k8s_namespace, label_selector="app=gc").items
        return "child" not in children and not replicasets and not pods

    eventually("the child ConfigMap, the ReplicaSet and its pods to be collected", gone)


def test_service_account_is_forbidden_outside_its_role(
    k8s_cluster: K8sCluster, k8s_api: Any, k8s_namespace: str
) -> None:
    """RBAC is enforced: a token from the TokenRequest API only opens what its Role grants."""
    core: Any = client.CoreV1Api(k8s_api)
    rbac: Any = client.RbacAuthorizationV1Api(k8s_api)
    core.create_namespaced_service_account(
        k8s_namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="narrow"))
    )
    rbac.create_namespaced_role(
        k8s_namespace,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="read-configmaps"),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["get", "list"])],
        ),
    )
    rbac.create_namespaced_role_binding(
        k8s_namespace,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="narrow-reads-configmaps"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name="read-configmaps"
            ),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="narrow", namespace=k8s_namespace)],
        ),
    )
    token = core.create_namespaced_service_account_token(
        "narrow",
        k8s_namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
        ),
    ).status.token

    admin_cfg = k8s_api.configuration
    cfg = client.Configuration()
    cfg.host = admin_cfg.host
    cfg.ssl_ca_cert = admin_cfg.ssl_ca_cert
    cfg.verify_ssl = admin_cfg.verify_ssl
    cfg.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(cfg) as sa_client:
        sa_core: Any = client.CoreV1Api(sa_client)
        # RoleBindings reach the authorizer's cache asynchronously: wait for the grant to apply.
        eventually(
            "the Role to take effect",
            lambda: _allowed(lambda: sa_core.list_namespaced_config_map(k8s_namespace)),
        )

        forbidden: list[Callable[[], object]] = [
            lambda: sa_core.list_namespaced_secret(k8s_namespace),
            lambda: sa_core.list_namespaced_config_map("kube-system"),
            lambda: sa_core.create_namespaced_config_map(
                k8s_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="nope"))
            ),
        ]
        for call in forbidden:
            with pytest.raises(ApiException) as info:
                call()
            assert info.value.status == 403
            assert f"system:serviceaccount:{k8s_namespace}:narrow" in str(info.value.body)


def test_crd_structural_schema_rejects_invalid_object(k8s_api: Any, k8s_namespace: str) -> None:
    """The API server validates custom resources against the CRD's OpenAPI schema."""
    ext: Any = client.ApiextensionsV1Api(k8s_api)
    custom: Any = client.CustomObjectsApi(k8s_api)
    group, plural = "e2e.mlpy.io", f"widgets{uuid.uuid4().hex[:6]}"
    name = f"{plural}.{group}"
    schema = client.V1JSONSchemaProps(
        type="object",
        properties={
            "spec": client.V1JSONSchemaProps(
                type="object",
                required=["replicas"],
                properties={
                    "replicas": client.V1JSONSchemaProps(type="integer", minimum=1, maximum=10),
                    "model": client.V1JSONSchemaProps(type="string", pattern="^[a-z0-9-]+$"),
                },
            )
        },
    )
    ext.create_custom_resource_definition(
        client.V1CustomResourceDefinition(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1CustomResourceDefinitionSpec(
                group=group,
                scope="Namespaced",
                names=client.V1CustomResourceDefinitionNames(
                    plural=plural, singular=plural[:-1], kind="Widget"
                ),
                versions=[
                    client.V1CustomResourceDefinitionVersion(
                        name="v1",
                        served=True,
                        storage=True,
                        schema=client.V1CustomResourceValidation(open_apiv3_schema=schema),
                    )
                ],
            ),
        )
    )
    try:

        def established() -> bool:
            conditions = ext.read_custom_resource_definition(name).status.conditions or []
            return any(c.type == "Established" and c.status == "True" for c in conditions)

        eventually("the CRD to be Established", established, timeout=30)

        def widget(spec: dict[str, Any]) -> dict[str, Any]:
            return {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}

        with pytest.raises(ApiException) as info:
            custom.create_namespaced_custom_object(
                group, "v1", k8s_namespace, plural, widget({"replicas": 0, "model": "Bad Name"})
            )
        assert info.value.status == 422
        body = str(info.value.body)
        assert "spec.replicas" in body
        assert "should be greater than or equal to 1" in body
        assert "spec.model" in body

        created = eventually(
            "a valid Widget to be accepted (the new resource may take a moment to be served)",
            lambda: _try_create(
                custom, group, plural, k8s_namespace, widget({"replicas": 2, "model": "iris"})
            ),
            timeout=15,
        )
        assert created["spec"]["replicas"] == 2
    finally:
        ext.delete_custom_resource_definition(name)


def _allowed(call: Callable[[], object]) -> bool:
    try:
        call()
    except ApiException as exc:
        if exc.status == 403:
            return False
        raise
    return True


def _try_create(
    custom: Any, group: str, plural: str, namespace: str, obj: dict[str, Any]
) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = custom.create_namespaced_custom_object(group, "v1", namespace, plural, obj)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return result


def test_kubectl_talks_to_the_cluster(k8s_cluster: K8sCluster) -> None:
    """The built kubectl works with the written kubeconfig, as a developer would use it."""
    kubectl = k8s_cluster.binaries.get("kubectl")
    if kubectl is None:
        unavailable(f"backend {k8s_cluster.backend!r} brings no kubectl binary")
    out = subprocess.run(
        [str(kubectl), f"--kubeconfig={k8s_cluster.kubeconfig}", "get", "nodes", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "node/kwok-node-0" in out


def test_helm_runs(k8s_cluster: K8sCluster) -> None:
    """helm is built with the rest, pinned in scripts/k8s/versions.env."""
    helm = k8s_cluster.binaries.get("helm")
    if helm is None:
        unavailable(f"no helm binary with backend {k8s_cluster.backend!r}: run `bash scripts/k8s/build.sh`")
    out = subprocess.run(
        [str(helm), "version", "--short"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.startswith(local.read_versions()["HELM_VERSION"])
