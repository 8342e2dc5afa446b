"""The Helm chart on a real API server: schema validation, install, the RBAC proof, uninstall.

The RBAC proof: the operator runs as a local process with the exact command of its image
(Dockerfile.operator's ENTRYPOINT) and the environment of the chart's Deployment, logged in with
a token of the chart's ServiceAccount, reconciles the examples, and never meets a 403.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from localk8s import free_port
from tests.e2e.conftest import unavailable

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "mlpy"
EXAMPLES = REPO / "helm" / "examples"
GROUP, VERSION = "mlpy.io", "v1alpha1"
CRD_NAMES = ("modelversions.mlpy.io", "experiments.mlpy.io", "driftmonitors.mlpy.io")
FORBIDDEN_MARKERS = ("403", "Forbidden", "forbidden", "Not enough permissions")


@dataclass(frozen=True)
class Tools:
    kubectl: str
    helm: str
    kubeconfig: Path

    def run(self, tool: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
        exe = self.kubectl if tool == "kubectl" else self.helm
        done = subprocess.run(
            [exe, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=240,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
        )
        if check:
            assert done.returncode == 0, f"{tool} {shlex.join(args)} failed:\n{done.stderr}{done.stdout}"
        return done.stdout


@pytest.fixture(scope="module")
def tools(k8s_cluster: Any) -> Tools:
    helm = k8s_cluster.binaries.get("helm")
    kubectl = k8s_cluster.binaries.get("kubectl")
    if helm is None or kubectl is None:
        unavailable("helm and kubectl come from scripts/k8s/build.sh")
    return Tools(str(kubectl), str(helm), k8s_cluster.kubeconfig)


def chart_values(mode: str, namespace: str) -> list[str]:
    """Every optional object the local cluster can hold (it has no Prometheus Operator CRDs)."""
    values = ["--set", "grafanaDashboard.enabled=true"]
    if mode == "namespaced":
        values += ["--set", f"operator.watchNamespaces={{{namespace}}}"]
    return values


@pytest.mark.parametrize("mode", ["cluster-wide", "namespaced"])
def test_rendered_chart_is_accepted_by_the_api_server(tools: Tools, k8s_namespace: str, mode: str) -> None:
    """`kubectl apply --dry-run=server` runs the real schema validation and admission of every object."""
    rendered = tools.run(
        "helm", "template", f"dry-{mode}", str(CHART), "-n", k8s_namespace, *chart_values(mode, k8s_namespace)
    )
    kinds = {doc["kind"] for doc in yaml.safe_load_all(rendered) if doc}
    assert {
        "Deployment",
        "Service",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
    } <= kinds
    if mode == "namespaced":
        assert {"Role", "RoleBinding"} <= kinds
    out = tools.run("kubectl", "apply", "--dry-run=server", "--validate=strict", "-f", "-", stdin=rendered)
    assert "deployment.apps/" in out


def test_a_mirror_registry_and_pull_secrets_reach_every_image(tools: Tools) -> None:
    """global.imageRegistry and global.imagePullSecrets: the operator's pod, and (through its
    environment) every serving, router and drift-job pod it creates."""
    rendered = tools.run(
        "helm", "template", "mirror", str(CHART),
        "--set", "global.imageRegistry=mirror.example:5000",
        "--set", "global.imagePullSecrets[0].name=pull-a",
        "--set", "operator.imagePullSecrets[0].name=pull-b",
    )  # fmt: skip
    operator = next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment")
    pod = operator["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert container["image"].startswith("mirror.example:5000/mlpy/mlpy-operator:")
    assert env["MLPY_SERVER_IMAGE"].startswith("mirror.example:5000/mlpy/mlpy-server:")
    assert env["MLPY_IMAGE_PULL_SECRETS"] == "pull-a"
    assert pod["imagePullSecrets"] == [{"name": "pull-a"}, {"name": "pull-b"}]


def _token_kubeconfig(tools: Tools, namespace: str, account: str, target: Path) -> Path:
    """A kubeconfig that authenticates as the ServiceAccount (a TokenRequest token), nothing else."""
    token = tools.run("kubectl", "create", "token", account, "-n", namespace, "--duration=1h").strip()
    admin = yaml.safe_load(tools.kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": cluster}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "e2e", "user": account, "namespace": namespace}}],
        "current-context": "sa",
    }
    target.write_text(json.dumps(config))
    target.chmod(0o600)
    return target


def _image_entrypoint(dockerfile: Path) -> list[str]:
    """The JSON-form ENTRYPOINT of a Dockerfile (the test runs the same command)."""
    for line in dockerfile.read_text().splitlines():
        if line.startswith("ENTRYPOINT "):
            return list(json.loads(line.removeprefix("ENTRYPOINT ")))
    raise AssertionError(f"{dockerfile.name} has no ENTRYPOINT")


def _image_healthcheck(dockerfile: Path) -> list[str]:
    text = dockerfile.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("HEALTHCHECK "))
    return list(json.loads(line[line.index("CMD ") + 4 :]))


@pytest.fixture
def restricted_namespace(k8s_api: Any, wait: Callable[..., Any]) -> Iterator[str]:
    """The restricted Pod Security Standard enforced: a pod that breaks it is refused at admission.

    Not an ``e2e-*`` name: the session's own operator (tests/e2e/operator) watches those, and these
    tests must be the only operator of their namespace.
    """
    from kubernetes import client

    core = client.CoreV1Api(k8s_api)
    name = f"helm-{uuid.uuid4().hex[:10]}"
    labels = {"mlpy-e2e": "1", "pod-security.kubernetes.io/enforce": "restricted"}
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    wait(
        "the namespace's default ServiceAccount",
        lambda: core.read_namespaced_service_account("default", name),
    )
    try:
        yield name
    finally:
        core.delete_namespace(name)


@dataclass
class Operator:
    proc: subprocess.Popen[str]
    log: Path
    metrics_port: int

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def run_operator(tmp_path: Path) -> Iterator[Callable[[dict[str, str], Path], Operator]]:
    started: list[Operator] = []

    def start(env: dict[str, str], kubeconfig: Path) -> Operator:
        command = _image_entrypoint(REPO / "Dockerfile.operator")
        assert command[:1] == ["python"], command
        command[0] = sys.executable  # the image's python is its venv's; ours has the same packages
        port = free_port()
        log = tmp_path / f"operator-{len(started)}.log"
        process_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "MLPY_"))},
            **env,
            "KUBECONFIG": str(kubeconfig),
            "MLPY_OPERATOR_METRICS_PORT": str(port),
            "HOME": str(tmp_path),
        }
        with open(log, "w") as out:
            proc = subprocess.Popen(
                command,
                env=process_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=tmp_path,
                start_new_session=True,
            )
        operator = Operator(proc, log, port)
        started.append(operator)
        return operator

    yield start
    for operator in started:
        if operator.proc.poll() is None:
            os.killpg(operator.proc.pid, signal.SIGTERM)
            try:
                operator.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(operator.proc.pid, signal.SIGKILL)
                operator.proc.wait()


def _deployment_env(apps: Any, namespace: str, name: str) -> dict[str, str]:
    deployment = apps.read_namespaced_deployment(name, namespace)
    return {e.name: e.value for e in deployment.spec.template.spec.containers[0].env if e.value is not None}


def _can_i(tools: Tools, account: str, *args: str) -> bool:
    out = tools.run("kubectl", "auth", "can-i", *args, f"--as={account}", check=False)
    return out.strip() == "yes"


OPERATOR_POD = "app.kubernetes.io/component=operator"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cluster-wide", "namespaced"])
def test_install_reconcile_with_the_chart_rbac_and_uninstall(
    wait: Callable[..., Any],
    tools: Tools,
    k8s_api: Any,
    restricted_namespace: str,
    run_operator: Any,
    tmp_path: Path,
    mode: str,
) -> None:
    from kubernetes import client

    ns = restricted_namespace
    release = f"r{ns.removeprefix('helm-')[:8]}"
    apps, core, custom = (
        client.AppsV1Api(k8s_api),
        client.CoreV1Api(k8s_api),
        client.CustomObjectsApi(k8s_api),
    )
    rbac = client.RbacAuthorizationV1Api(k8s_api)

    tools.run(
        "helm", "install", release, str(CHART), "-n", ns, "--wait", "--timeout=180s",
        *chart_values(mode, ns),
    )  # fmt: skip
    fullname = f"{release}-mlpy"
    selector = f"app.kubernetes.io/instance={release}"
    # Everything is there; the operator's pod passed the restricted Pod Security admission and runs.
    deployment = apps.read_namespaced_deployment(f"{fullname}-operator", ns)
    assert deployment.status.available_replicas == 1
    core.read_namespaced_service(f"{fullname}-operator-metrics", ns)
    core.read_namespaced_service_account(fullname, ns)
    core.read_namespaced_service_account("mlpy-drift-job", ns)
    core.read_namespaced_config_map(f"{fullname}-dashboard", ns)
    assert rbac.list_cluster_role(label_selector=selector).items
    for crd in CRD_NAMES:
        tools.run("kubectl", "get", "crd", crd)

    account = f"system:serviceaccount:{ns}:{fullname}"
    assert _can_i(tools, account, "create", "deployments.apps", "-n", ns)
    assert _can_i(tools, account, "patch", "modelversions.mlpy.io", "--subresource=status", "-n", ns)
    assert not _can_i(tools, account, "get", "secrets", "-n", ns)
    assert not _can_i(tools, account, "create", "clusterroles")
    assert not _can_i(tools, account, "delete", "customresourcedefinitions")
    assert not _can_i(tools, account, "create", "pods", "-n", ns)
    if mode == "namespaced":
        assert not _can_i(tools, account, "list", "deployments.apps", "-n", "default")
    drift_job = f"system:serviceaccount:{ns}:mlpy-drift-job"
    assert _can_i(tools, drift_job, "patch", "driftmonitors.mlpy.io", "--subresource=status", "-n", ns)
    assert not _can_i(tools, drift_job, "patch", "driftmonitors.mlpy.io", "-n", ns)
    training = f"system:serviceaccount:{ns}:mlpy-training"
    assert _can_i(tools, training, "get", "pods", "-n", ns)
    assert not _can_i(tools, training, "list", "pods", "-n", ns)

    # From here this process is the operator, with the chart's ServiceAccount: the chart's own pod
    # stops first, or the two would share the work and the metrics below would be a coin toss.
    apps.patch_namespaced_deployment_scale(f"{fullname}-operator", ns, {"spec": {"replicas": 0}})
    wait(
        "the chart's operator pod to stop",
        lambda: not core.list_namespaced_pod(ns, label_selector=f"{selector},{OPERATOR_POD}").items,
        timeout=90,
    )
    kubeconfig = _token_kubeconfig(tools, ns, fullname, tmp_path / "sa.kubeconfig")
    operator = run_operator(_deployment_env(apps, ns, f"{fullname}-operator"), kubeconfig)
    wait(
        "the operator's /metrics",
        lambda: (
            urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=2).status
            == 200
        ),
        timeout=60,
    )
    # The image's own health check passes against this process (its port swapped for the free one).
    probe = [
        p.replace(":8080/", f":{operator.metrics_port}/")
        for p in _image_healthcheck(REPO / "Dockerfile.operator")
    ]
    assert subprocess.run([sys.executable, *probe[1:]], timeout=30).returncode == 0
    for example in sorted(EXAMPLES.glob("*.yaml")):
        tools.run("kubectl", "apply", "-n", ns, "-f", str(example))

    def ready(name: str) -> bool:
        mv = custom.get_namespaced_custom_object(GROUP, VERSION, ns, "modelversions", name)
        return (mv.get("status") or {}).get("phase") == "Ready"

    wait("credit-v1 Ready", lambda: ready("credit-v1"))
    wait("credit-v2 Ready", lambda: ready("credit-v2"))
    # The stable Service goes to the production version, or to the experiment's router once the
    # operator reconciled the Experiment too.
    stable = core.read_namespaced_service("credit", ns)
    assert stable.spec.selector in (
        {"mlpy.io/modelversion": "credit-v1"},
        {"mlpy.io/experiment": "credit-v2-rollout"},
    )
    # This process did the work (not some other operator): its own metrics count the reconciliations.
    with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5) as resp:
        metrics = resp.read().decode()
    assert 'mlpy_operator_reconciles_total{kind="ModelVersion",result="ok"}' in metrics
    # Deleted while the operator runs: it releases its finalizers, with the same permissions.
    for example in sorted(EXAMPLES.glob("*.yaml")):
        tools.run("kubectl", "delete", "-n", ns, "--wait=true", "--timeout=90s", "-f", str(example))
    assert operator.proc.poll() is None, operator.output()
    os.killpg(operator.proc.pid, signal.SIGTERM)
    operator.proc.wait(timeout=30)
    # kopf retries a refused call quietly; its log shows every refusal, so none may be there. The log
    # is not empty either: the image's command sets up kopf's logging (an empty log passed before).
    log = operator.output()
    assert "Handler 'modelversion_changed" in log, log[-2000:]
    refusals = [line for line in log.splitlines() if any(m in line for m in FORBIDDEN_MARKERS)]
    assert not refusals, "\n".join(refusals)

    tools.run("helm", "uninstall", release, "-n", ns, "--wait", "--timeout=120s")
    # Nothing of the release is left but the CRDs (Helm never deletes what it installed from crds/).
    left = tools.run(
        "kubectl", "get", "all,serviceaccounts,configmaps,roles,rolebindings", "-n", ns,
        "-l", selector, "-o", "name",
    )  # fmt: skip
    assert left.strip() == ""
    assert not rbac.list_cluster_role(label_selector=selector).items
    assert not rbac.list_cluster_role_binding(label_selector=selector).items
    for crd in CRD_NAMES:
        tools.run("kubectl", "get", "crd", crd)


def test_pod_breaking_the_restricted_standard_is_refused(tools: Tools, restricted_namespace: str) -> None:
    """The control: the chart's pod passes the enforced standard, the same pod with one flag flipped fails."""
    rendered = tools.run("helm", "template", "ctl", str(CHART), "-n", restricted_namespace)
    deployment = next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment")

    def admit(escalation: bool) -> subprocess.CompletedProcess[str]:
        spec = json.loads(json.dumps(deployment["spec"]["template"]["spec"]))
        spec["serviceAccountName"] = "default"
        spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = escalation
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"}, "spec": spec}
        return subprocess.run(
            [tools.kubectl, "apply", "--dry-run=server", "-n", restricted_namespace, "-f", "-"],
            input=json.dumps(pod),
            capture_output=True,
            text=True,
            env={**os.environ, "KUBECONFIG": str(tools.kubeconfig)},
            timeout=60,
        )

    assert admit(False).returncode == 0
    refused = admit(True)
    assert refused.returncode != 0
    assert "allowPrivilegeEscalation" in refused.stderr
