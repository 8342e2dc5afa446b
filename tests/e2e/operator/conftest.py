"""Fixtures for operator tests: the CRDs installed, the operator running in-process, API helpers."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
GROUP, VERSION = "mlpy.io", "v1alpha1"


@pytest.fixture(scope="session")
def wait() -> Callable[..., Any]:
    return wait_for


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll until ``check`` returns something truthy; the failure names what never happened."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}")


@pytest.fixture(scope="session")
def crds(k8s_cluster: Any) -> None:
    kubectl = str(k8s_cluster.binaries.get("kubectl", "kubectl"))
    env = {**os.environ, "KUBECONFIG": str(k8s_cluster.kubeconfig)}

    def kubectl_run(*args: str) -> None:
        done = subprocess.run([kubectl, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"

    kubectl_run("apply", "--server-side", "-f", str(REPO / "crds"))
    for crd in ("modelversions", "experiments", "driftmonitors"):
        kubectl_run("wait", "--for=condition=Established", f"crd/{crd}.{GROUP}", "--timeout=60s")


@pytest.fixture(scope="session")
def stats_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The experiment statistics store routers and the operator share (a SQLite file here)."""
    return f"sqlite:///{tmp_path_factory.mktemp('stats') / 'stats.db'}"


@pytest.fixture(scope="session")
def operator(k8s_cluster: Any, crds: None, stats_url: str) -> Iterator[None]:
    """The operator running in this process (kopf's KopfRunner), logged in with the test kubeconfig."""
    from kopf.testing import KopfRunner

    os.environ["KUBECONFIG"] = str(k8s_cluster.kubeconfig)
    os.environ["MLPY_OPERATOR_METRICS_PORT"] = "0"
    os.environ["MLPY_EXPERIMENT_STATS"] = stats_url
    os.environ["MLPY_EXPERIMENT_INTERVAL"] = "1"
    with KopfRunner(["run", "--standalone", "--all-namespaces", "-m", "mlpy_operator.handlers"], timeout=60):
        yield


@pytest.fixture
def custom(k8s_api: Any) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(k8s_api)
