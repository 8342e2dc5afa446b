"""Fixtures for operator tests: the CRDs installed, the operator running in-process, API helpers."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
GROUP, VERSION = "mlpy.io", "v1alpha1"


@pytest.fixture(scope="package")
def crds(k8s_cluster: Any) -> None:
    kubectl = str(k8s_cluster.binaries.get("kubectl", "kubectl"))
    env = {**os.environ, "KUBECONFIG": str(k8s_cluster.kubeconfig)}

    def kubectl_run(*args: str) -> None:
        done = subprocess.run([kubectl, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"

    kubectl_run("apply", "--server-side", "-f", str(REPO / "crds"))
    for crd in ("modelversions", "experiments", "driftmonitors"):
        kubectl_run("wait", "--for=condition=Established", f"crd/{crd}.{GROUP}", "--timeout=60s")


@pytest.fixture(scope="package")
def stats_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The experiment statistics store routers and the operator share (a SQLite file here)."""
    return f"sqlite:///{tmp_path_factory.mktemp('stats') / 'stats.db'}"


@pytest.fixture(scope="package")
def predlog_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The metadata store serving pods log predictions to; drift jobs read it."""
    return f"sqlite:///{tmp_path_factory.mktemp('predlog') / 'store.db'}"


@pytest.fixture(scope="package")
def operator(
    k8s_cluster: Any, crds: None, stats_url: str, predlog_url: str, wait: Callable[..., Any]
) -> Iterator[None]:
    """The operator running in this process (kopf's KopfRunner), logged in with the test kubeconfig."""
    from kopf.testing import KopfRunner

    from mlpy_operator import runtime

    # The operator reads its settings once (cached); the variables are restored as soon as it has,
    # because other tests in this process read some of them too (the experiment CLI, say).
    patch = pytest.MonkeyPatch()
    patch.setenv("KUBECONFIG", str(k8s_cluster.kubeconfig))
    patch.setenv("MLPY_OPERATOR_METRICS_PORT", "0")
    patch.setenv("MLPY_EXPERIMENT_STATS", stats_url)
    patch.setenv("MLPY_EXPERIMENT_INTERVAL", "1")
    patch.setenv("MLPY_PREDLOG_STORE", predlog_url)
    runtime.config.cache_clear()
    runtime.stats_backend.cache_clear()
    runtime.config()
    # Only the per-test namespaces (e2e-*): tests that run an operator of their own use other names.
    runner = KopfRunner(
        ["run", "--standalone", "--namespace", "e2e-*", "-m", "mlpy_operator.handlers"], timeout=60
    )
    runner.__enter__()
    try:
        wait("the operator's start-up", lambda: runtime.kube_client.cache_info().currsize == 1)
        patch.undo()
        yield
    finally:
        patch.undo()
        runner.__exit__(None, None, None)


@pytest.fixture
def custom(k8s_api: Any) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(k8s_api)


def service_account_kubeconfig(
    k8s_api: Any, admin_kubeconfig: Path, namespace: str, account: str, path: Path
) -> Path:
    """A kubeconfig that authenticates as a ServiceAccount (a TokenRequest token): RBAC applies in full."""
    import yaml
    from kubernetes import client

    token = (
        client.CoreV1Api(k8s_api)
        .create_namespaced_service_account_token(
            account,
            namespace,
            client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[])),
        )
        .status.token
    )
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    cluster = admin["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [
            {
                "name": account,
                "context": {"cluster": cluster["name"], "user": account, "namespace": namespace},
            }
        ],
        "current-context": account,
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def as_service_account(k8s_api: Any, k8s_cluster: Any, tmp_path: Path) -> Callable[[str, str], Path]:
    def make(namespace: str, account: str) -> Path:
        return service_account_kubeconfig(
            k8s_api, Path(k8s_cluster.kubeconfig), namespace, account, tmp_path / f"{account}.kubeconfig"
        )

    return make
