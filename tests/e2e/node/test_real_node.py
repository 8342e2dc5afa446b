"""Proof that the cluster is real: pods from the images built here run on a real kubelet, reach each
other, the cluster DNS and the API server through Services, and cannot reach anything else.

The module's cluster is its own (one real node per machine); the last test stops it and checks that
the host is as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

import localk8s
from localk8s.processes import alive
from tests.e2e.conftest import wait_for
from tests.e2e.node.conftest import NodeCluster, host_sysctls

pytestmark = pytest.mark.e2e

SERVER_IMAGE, OPERATOR_IMAGE = localk8s.product_images()


def pod(
    name: str, command: list[str] | None, container: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    """A pod of the server image; ``command=None`` runs the image's own ENTRYPOINT and CMD."""
    main: dict[str, Any] = {"name": "main", "image": SERVER_IMAGE, **(container or {})}
    if command is not None:
        main["command"] = command
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [main], **spec},
    }


def service(name: str, port: int, target: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": target}]},
    }


def pod_status(node: NodeCluster, namespace: str, name: str) -> dict[str, Any]:
    status: dict[str, Any] = json.loads(node.kubectl("get", "pod", name, "-n", namespace, "-o", "json"))[
        "status"
    ]
    return status


def ready(node: NodeCluster, namespace: str, name: str) -> bool:
    conditions = pod_status(node, namespace, name).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def answers(url: str) -> int:
    """The HTTP status at ``url``. A pod turns Ready before kube-proxy has written its Service's rules
    (until then the ClusterIP refuses), so callers poll this, as the docs' ``curl --retry-connrefused``
    does."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        return int(resp.status)


SLEEP = ["python", "-c", "import signal; signal.sigwait({signal.SIGTERM})"]


def test_pods_run_from_the_local_image_with_logs_and_exec(
    node_cluster: NodeCluster, node_namespace: str
) -> None:
    node_cluster.apply(
        node_namespace,
        pod(
            "talker",
            [
                "python",
                "-c",
                "print('hello from a real pod', flush=True)\n"
                + "import signal; signal.sigwait({signal.SIGTERM})",
            ],
        ),
    )
    wait_for("the pod to be Ready", lambda: ready(node_cluster, node_namespace, "talker"))
    status = pod_status(node_cluster, node_namespace, "talker")
    assert status["podIP"].startswith("10.244.0."), status
    assert (
        json.loads(node_cluster.kubectl("get", "pod", "talker", "-n", node_namespace, "-o", "json"))["spec"][
            "nodeName"
        ]
        == localk8s.NODE_NAME
    )
    logs = wait_for("its log line", lambda: node_cluster.kubectl("logs", "talker", "-n", node_namespace))
    assert "hello from a real pod" in logs
    out = node_cluster.kubectl(
        "exec", "talker", "-n", node_namespace, "--", "python", "-c", "import os; print(os.getuid())"
    )
    assert out.strip() == "10001"  # the image's USER: the container really runs the image


def test_memory_limit_is_enforced_by_an_oom_kill(node_cluster: NodeCluster, node_namespace: str) -> None:
    hog = pod(
        "hog",
        ["python", "-c", "x = bytearray(256 * 1024 * 1024); print('survived')"],
        restartPolicy="Never",
        container={"resources": {"limits": {"memory": "64Mi", "cpu": "500m"}}},
    )
    node_cluster.apply(node_namespace, hog)

    def terminated() -> dict[str, Any] | None:
        statuses = pod_status(node_cluster, node_namespace, "hog").get("containerStatuses") or [{}]
        state: dict[str, Any] | None = statuses[0].get("state", {}).get("terminated")
        return state

    state = wait_for("the container to be killed", terminated)
    assert (state["reason"], state["exitCode"]) == ("OOMKilled", 137), state


def test_a_pod_resolves_another_service_by_name_and_reaches_it(
    node_cluster: NodeCluster, node_namespace: str
) -> None:
    node_cluster.apply(
        node_namespace,
        pod(
            "web",
            ["python", "-m", "http.server", "8000"],
            container={"readinessProbe": {"tcpSocket": {"port": 8000}}},
        ),
        service("web", 80, 8000),
        pod("client", SLEEP),
    )
    for name in ("web", "client"):
        wait_for(f"{name} to be Ready", lambda name=name: ready(node_cluster, node_namespace, name))
    cluster_ip = json.loads(
        node_cluster.kubectl("get", "service", "web", "-n", node_namespace, "-o", "json")
    )["spec"]["clusterIP"]
    # From the host first, through kube-proxy's rules, as a test or a user on the node would: once it
    # answers, the Service's rules are in place for the pods on this node too.
    assert wait_for("the web Service to answer", lambda: answers(f"http://{cluster_ip}/")) == 200
    fqdn = f"web.{node_namespace}.svc.cluster.local"
    script = (
        "import socket, urllib.request\n"
        f"print(socket.gethostbyname({fqdn!r}))\n"
        f"print(urllib.request.urlopen('http://{fqdn}/', timeout=5).status)\n"
        "print(open('/etc/resolv.conf').read())"
    )
    out = node_cluster.kubectl(
        "exec", "client", "-n", node_namespace, "--", "python", "-c", script
    ).splitlines()
    assert out[0] == cluster_ip
    assert out[1] == "200"
    # The cluster DNS alone: the host's resolver never reaches a pod.
    assert [line for line in out[2:] if line.startswith("nameserver")] == ["nameserver 10.96.0.10"]


def test_pods_reach_the_api_server_through_the_kubernetes_service(
    node_cluster: NodeCluster, node_namespace: str
) -> None:
    """In-cluster configuration (ServiceAccount token, KUBERNETES_SERVICE_HOST) works as anywhere."""
    node_cluster.kubectl("create", "serviceaccount", "reader", "-n", node_namespace)
    node_cluster.kubectl(
        "create", "role", "read-cm", "--verb=get,list", "--resource=configmaps", "-n", node_namespace
    )
    node_cluster.kubectl(
        "create",
        "rolebinding",
        "reader-read-cm",
        "--role=read-cm",
        f"--serviceaccount={node_namespace}:reader",
        "-n",
        node_namespace,
    )
    node_cluster.apply(node_namespace, pod("incluster", SLEEP, serviceAccountName="reader"))
    wait_for("the pod to be Ready", lambda: ready(node_cluster, node_namespace, "incluster"))
    script = (
        "import os, kubernetes\n"
        "kubernetes.config.load_incluster_config()\n"
        "print(os.environ['KUBERNETES_SERVICE_HOST'])\n"
        f"found = kubernetes.client.CoreV1Api().list_namespaced_config_map({node_namespace!r})\n"
        "names = [c.metadata.name for c in found.items]\n"
        "print('kube-root-ca.crt' in names)\n"
    )
    out = node_cluster.kubectl(
        "exec", "incluster", "-n", node_namespace, "--", "python", "-c", script
    ).split()
    assert out == ["10.96.0.1", "True"]


def test_server_image_serves_a_registered_model_through_its_cluster_ip(
    node_cluster: NodeCluster,
    node_namespace: str,
    node_s3: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3
    from sklearn.linear_model import LogisticRegression

    from mlpy.demo.data import NUMERIC, TARGET, credit_data
    from mlpy.registry import ModelRegistry

    bucket = f"models-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=node_s3, region_name="us-east-1").create_bucket(Bucket=bucket)
    data = credit_data(2_000)
    model = LogisticRegression(max_iter=500).fit(data[NUMERIC], data[TARGET])
    registry = ModelRegistry(f"sqlite:///{tmp_path / 'registry.db'}", f"s3://{bucket}/models")
    version = registry.register("credit", model, input_example=data[NUMERIC].head())
    node_cluster.kubectl(
        "create",
        "secret",
        "generic",
        "s3",
        "-n",
        node_namespace,
        "--from-literal=AWS_ACCESS_KEY_ID=testing",
        "--from-literal=AWS_SECRET_ACCESS_KEY=testing",
    )
    server = pod(
        "credit",
        None,
        container={
            "env": [
                {"name": "MLPY_MODEL_NAME", "value": "credit"},
                {"name": "MLPY_MODEL_URI", "value": version.artifact_uri},
                {"name": "MLPY_MODEL_SHA256", "value": version.sha256},
                {"name": "MLPY_S3_ENDPOINT_URL", "value": node_s3},
                {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"},
                # The image's own command (serve --host 0.0.0.0) then serves gRPC on that host too.
                {"name": "MLPY_GRPC_PORT", "value": "8001"},
            ],
            "envFrom": [{"secretRef": {"name": "s3"}}],
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8000}, "periodSeconds": 1},
        },
    )
    endpoint = service("credit", 80, 8000)
    endpoint["spec"]["ports"] = [
        {"name": "http", "port": 80, "targetPort": 8000},
        {"name": "grpc", "port": 8001, "targetPort": 8001},
    ]
    node_cluster.apply(node_namespace, server, endpoint)
    wait_for(
        "the model server to be Ready (artifact fetched from S3 and verified)",
        lambda: ready(node_cluster, node_namespace, "credit"),
        timeout=120,
    )
    cluster_ip = json.loads(
        node_cluster.kubectl("get", "service", "credit", "-n", node_namespace, "-o", "json")
    )["spec"]["clusterIP"]
    assert wait_for("the credit Service to answer", lambda: answers(f"http://{cluster_ip}/readyz")) == 200
    row = data[NUMERIC].iloc[0].to_dict()
    request = urllib.request.Request(
        f"http://{cluster_ip}/predict",
        data=json.dumps({"features": row}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        answer = json.loads(resp.read())
    assert answer["prediction"] == model.predict(data[NUMERIC].head(1))[0]
    # The Open Inference Protocol over gRPC, through the same ClusterIP, with NVIDIA's client.
    import numpy as np
    import tritonclient.grpc as triton

    client = triton.InferenceServerClient(f"{cluster_ip}:8001")
    assert client.is_model_ready("credit")
    rows = data[NUMERIC].head(3).to_numpy(dtype=np.float64)
    tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows)
    labels = client.infer("credit", [tensor]).as_numpy("predict")
    assert labels.tolist() == model.predict(data[NUMERIC].head(3)).tolist()


def test_operator_image_starts_and_reports_ready(node_cluster: NodeCluster, node_namespace: str) -> None:
    """The chart's operator pod, from the image built here, passes its probes on its health port."""
    helm = node_cluster.cluster.binaries.get("helm")
    if helm is None:
        pytest.fail("helm is built by scripts/k8s/build.sh with the rest")
    chart = Path(__file__).resolve().parents[3] / "helm" / "mlpy"
    done = subprocess.run(
        [
            str(helm),
            "install",
            "op",
            str(chart),
            "-n",
            node_namespace,
            "--wait",
            "--timeout=180s",
            "--set",
            f"operator.watchNamespaces={{{node_namespace}}}",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "KUBECONFIG": str(node_cluster.kubeconfig)},
        check=False,
    )
    logs = node_cluster.kubectl(
        "logs", "-n", node_namespace, "-l", "app.kubernetes.io/component=operator", "--tail=40", check=False
    )
    assert done.returncode == 0, f"{done.stderr}{done.stdout}\n--- operator log ---\n{logs}"
    pods = json.loads(
        node_cluster.kubectl(
            "get", "pods", "-n", node_namespace, "-l", "app.kubernetes.io/component=operator", "-o", "json"
        )
    )["items"]
    assert pods
    assert all(p["spec"]["nodeName"] == localk8s.NODE_NAME for p in pods)
    assert all(p["spec"]["containers"][0]["image"] == OPERATOR_IMAGE for p in pods)
    assert all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"]) for p in pods
    )


def test_the_kubelet_keeps_authentication_on(node_cluster: NodeCluster) -> None:
    """Anonymous requests to the kubelet are refused; the API server's own client certificate works
    (``kubectl logs`` and ``exec`` above go through it)."""
    import ssl
    import urllib.error

    node = json.loads(node_cluster.kubectl("get", "node", localk8s.NODE_NAME, "-o", "json"))
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"https://{node_cluster.node_ip}:{port}/pods", context=insecure, timeout=5)
    assert refused.value.code == 401


def test_the_pod_network_is_confined(node_cluster: NodeCluster, node_namespace: str) -> None:
    """Read what is in force: CNI config, mangle and NAT rules, each pod's routes, CoreDNS's zones.
    A pod of its own runs meanwhile, so at least its routes are read, whichever tests ran before."""
    node_cluster.apply(node_namespace, pod("confined", SLEEP))
    wait_for("the pod to be Ready", lambda: ready(node_cluster, node_namespace, "confined"))
    cluster = node_cluster.cluster
    audit = localk8s.audit_confinement(
        cluster.net, cluster.containerd.cni_conf_dir, cluster.netns_dir, cluster.corefile
    )
    print("\n".join(audit.seen))
    assert audit.violations == []
    assert any("pod network namespaces" in line and not line.startswith("info 0 ") for line in audit.seen)


def test_stopping_leaves_nothing_behind(node_cluster: NodeCluster) -> None:
    """Last in the module: no process of the cluster (control plane included), mount, iptables chain
    or rule in a built-in chain, interface, cgroup or sysctl changed."""
    pids = dict(node_cluster.cluster.pids)
    assert {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} <= set(pids)
    node_cluster.cluster.stop()
    assert [f"{name} {pid}" for name, pid in pids.items() if alive(pid)] == []
    after = localk8s.HostSnapshot.take(host_sysctls())
    assert node_cluster.before.differences(after) == []
