"""The shipped examples on a real API server, the serving command run locally, and an operator restart."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from localk8s import free_port

pytestmark = pytest.mark.e2e

GROUP, VERSION = "mlpy.io", "v1alpha1"
REPO = Path(__file__).resolve().parents[3]


def kubectl(cluster: Any, *args: str) -> str:
    done = subprocess.run(
        [str(cluster.binaries.get("kubectl", "kubectl")), *args],
        env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_examples_apply_and_reconcile(
    operator: None, wait: Any, custom: Any, k8s_api: Any, k8s_cluster: Any, k8s_namespace: str
) -> None:
    from kubernetes import client

    ns = k8s_namespace
    kubectl(k8s_cluster, "apply", "-n", ns, "-f", str(REPO / "examples"))
    apps, core, batch = client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api), client.BatchV1Api(k8s_api)
    for name in ("credit-risk-v1", "credit-risk-v2", "credit-risk-v2-rollout-router"):
        wait(f"Deployment {name}", lambda name=name: apps.read_namespaced_deployment(name, ns))
    wait("the drift CronJob", lambda: batch.read_namespaced_cron_job("credit-risk-drift-drift", ns))
    wait(
        "the model's Service to front the experiment's router",
        lambda: (
            core.read_namespaced_service("credit-risk", ns).spec.selector
            == {"mlpy.io/experiment": "credit-risk-v2-rollout"}
        ),
    )

    def ready() -> dict[str, Any] | None:
        # readyReplicas may come from a child's event before kopf records the handled spec: wait for both.
        mv = custom.get_namespaced_custom_object(GROUP, VERSION, ns, "modelversions", "credit-risk-v1")
        handled = "mlpy.io/last-handled-configuration" in (mv["metadata"].get("annotations") or {})
        return mv if handled and (mv.get("status") or {}).get("readyReplicas") == 2 else None

    mv = wait("two ready replicas of credit-risk-v1, its spec handled", ready, timeout=90)
    # Handler progress and bookkeeping stay under the operator's own prefix.
    annotations = mv["metadata"].get("annotations") or {}
    assert not [key for key in annotations if key.startswith("kopf.zalando.org")]
    assert "mlpy.io/last-handled-configuration" in annotations

    listed = kubectl(k8s_cluster, "get", "mlpy", "-n", ns)
    for name in ("credit-risk-v1", "credit-risk-v2", "credit-risk-v2-rollout", "credit-risk-drift"):
        assert name in listed
    table = kubectl(k8s_cluster, "get", "mv", "-n", ns)
    assert "MODEL" in table
    assert "STAGE" in table
    assert "production" in table
    explained = kubectl(k8s_cluster, "explain", "modelversion.spec.artifact.sha256")
    assert "refuses to load bytes that do not match" in explained


def test_serving_container_command_answers_predictions(
    operator: None, wait: Any, custom: Any, k8s_api: Any, k8s_namespace: str, tmp_path: Path
) -> None:
    """The Deployment's own args and env, run as a local process, load the artifact and predict."""
    import skops.io
    from kubernetes import client
    from sklearn.linear_model import LinearRegression

    artifact = tmp_path / "model.skops"
    skops.io.dump(LinearRegression().fit([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [1.0, 2.0, 5.0]), artifact)
    sha = hashlib.sha256(artifact.read_bytes()).hexdigest()
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelVersion",
        "metadata": {"name": "local-v3"},
        "spec": {"model": "local", "version": 3, "artifact": {"uri": str(artifact), "sha256": sha}},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, k8s_namespace, "modelversions", body)
    apps = client.AppsV1Api(k8s_api)
    container = wait(
        "the Deployment", lambda: apps.read_namespaced_deployment("local-v3", k8s_namespace)
    ).spec.template.spec.containers[0]
    args = list(container.args)
    port = free_port()
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    env = {e.name: e.value for e in container.env}
    env["MLPY_HOME"] = str(tmp_path / "home")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlpy.cli.main", *args],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait("/readyz", lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, timeout=60)
        answer = httpx.post(f"{base}/predict", json={"features": [1.0, 2.0]}, timeout=5).json()
        assert answer["model"] == "local"
        assert answer["version"] == "3"
        assert answer["prediction"] == pytest.approx(3.3333333, rel=1e-6)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def own_namespace(k8s_api: Any) -> Iterator[str]:
    """A namespace the session's operator does not watch (it only takes e2e-*)."""
    from kubernetes import client

    name = f"restart-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(k8s_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name)


def start_operator(k8s_cluster: Any, namespace: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KUBECONFIG": str(k8s_cluster.kubeconfig),
        "MLPY_OPERATOR_NAMESPACES": namespace,
        "MLPY_OPERATOR_METRICS_PORT": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "mlpy_operator"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def test_operator_killed_mid_reconcile_converges_without_duplicates(
    crds: None, wait: Any, custom: Any, k8s_api: Any, k8s_cluster: Any, own_namespace: str, tmp_path: Path
) -> None:
    from kubernetes import client

    ns, count = own_namespace, 30
    log = tmp_path / "operator.log"
    first = start_operator(k8s_cluster, ns, log)
    try:
        time.sleep(3)
        for i in range(count):
            body = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ModelVersion",
                "metadata": {"name": f"m{i}-v1"},
                "spec": {
                    "model": f"m{i}",
                    "version": 1,
                    "stage": "production",
                    "artifact": {"uri": "s3://x", "sha256": "c" * 64},
                },
            }
            custom.create_namespaced_custom_object(GROUP, VERSION, ns, "modelversions", body)
        apps = client.AppsV1Api(k8s_api)
        wait(
            "the operator to be mid-way",
            lambda: len(apps.list_namespaced_deployment(ns).items) >= 3,
            timeout=60,
        )
    finally:
        first.send_signal(signal.SIGKILL)  # no graceful shutdown: handlers are cut wherever they are
        first.wait(timeout=30)
    second = start_operator(k8s_cluster, ns, log)
    try:

        def converged() -> bool:
            items = custom.list_namespaced_custom_object(GROUP, VERSION, ns, "modelversions")["items"]
            return len(items) == count and all((i.get("status") or {}).get("phase") == "Ready" for i in items)

        wait("every version Ready after the restart", converged, timeout=180)
        deployments = [d.metadata.name for d in apps.list_namespaced_deployment(ns).items]
        services = [s.metadata.name for s in client.CoreV1Api(k8s_api).list_namespaced_service(ns).items]
        assert sorted(deployments) == sorted(f"m{i}-v1" for i in range(count))
        assert sorted(services) == sorted(
            [f"m{i}-v1" for i in range(count)] + [f"m{i}" for i in range(count)]
        )
        replica_sets = client.AppsV1Api(k8s_api).list_namespaced_replica_set(ns).items
        assert len(replica_sets) == count  # no rollout churn from a half-applied spec
    finally:
        second.terminate()
        second.wait(timeout=30)
