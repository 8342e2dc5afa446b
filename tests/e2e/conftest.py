"""Fixtures for tests that need a real Kubernetes API server.

The backend comes from ``--k8s-backend`` (only when tests/e2e is on the command line, since pytest
reads options from the initial conftests) or ``MLPY_K8S_BACKEND``:

- ``local`` (default): etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run
  as local processes (``localk8s``, in ``tools/``), binaries from ``bash scripts/k8s/build.sh``;
  the shared cluster has kwok nodes only; tests on real pods use ``node_cluster`` (tests/e2e/node);
- ``kind``: a kind cluster through pytest-kind, only where a Docker daemon answers;
- ``existing``: the cluster of the current ``KUBECONFIG``.

An unavailable backend skips the tests locally and fails them under CI (``CI=true``).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

import localk8s as local

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ("local", "kind", "existing")
_SUMMARY_KEY = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--k8s-backend",
        choices=BACKENDS,
        default=None,
        help="Kubernetes for e2e tests: local (default), kind or existing (env MLPY_K8S_BACKEND)",
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the numbers tests measured (the control plane's start-up, the images' sizes) after the
    results, where a passing run's captured output would hide them, so CI logs keep them."""
    for line in config.stash.get(_SUMMARY_KEY, []):
        terminalreporter.write_line(line)


def summary_line(config: pytest.Config, line: str) -> None:
    """Add ``line`` to what the end of the run prints (``pytest_terminal_summary``)."""
    config.stash.setdefault(_SUMMARY_KEY, []).append(line)


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI, where the control plane is part of the contract."""
    if IN_CI:
        pytest.fail(f"Kubernetes control plane required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class K8sCluster:
    """What a test needs to reach the cluster."""

    backend: str
    kubeconfig: Path
    binaries: dict[str, Path]


def _backend(config: pytest.Config) -> str:
    choice = config.getoption("--k8s-backend", default=None) or os.environ.get("MLPY_K8S_BACKEND") or "local"
    if choice not in BACKENDS:
        raise pytest.UsageError(f"MLPY_K8S_BACKEND={choice!r}: expected one of {', '.join(BACKENDS)}")
    return str(choice)


def _docker_works() -> str | None:
    """None when a Docker daemon answers locally, else why not (never dials a remote DOCKER_HOST)."""
    if shutil.which("docker") is None:
        return "no docker client"
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return f"DOCKER_HOST={host} is not a local socket"
    if not Path(host.removeprefix("unix://")).exists():
        return f"no Docker daemon socket at {host}"
    result = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    return None if result.returncode == 0 else "`docker info` failed: no running Docker daemon"


@pytest.fixture(scope="package")
def k8s_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[K8sCluster]:
    """One Kubernetes cluster for all the end-to-end tests, per the selected backend; it stops when the
    last of them is done (a package fixture), so the rest of the suite runs without its load.

    While it is up, every default kubeconfig lookup in this process points at it, so code that
    loads "the" kubeconfig (kopf's login, ``kubernetes.config.load_kube_config()``) talks to the
    test cluster, never to a developer's real one. The client library reads ``KUBECONFIG`` once at
    import, so its module default is patched along with the variable.
    """
    clusters = _provide_cluster(request, tmp_path_factory)
    k8s = next(clusters)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUBECONFIG", str(k8s.kubeconfig))
        try:
            from kubernetes.config import kube_config
        except ImportError:
            pass
        else:
            mp.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(k8s.kubeconfig))
        yield k8s
    for _ in clusters:  # resumes the backend's generator: its teardown
        pass


def _provide_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[K8sCluster]:
    """Bring up (and, when resumed, tear down) the cluster of the selected backend."""
    backend = _backend(request.config)
    if backend == "existing":
        path = Path(os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or Path.home() / ".kube" / "config")
        if not path.is_file():
            unavailable(f"backend 'existing' needs a kubeconfig: {path} does not exist (set KUBECONFIG)")
        yield K8sCluster(backend, path, {})
        return
    if backend == "kind":
        why = _docker_works()
        if why:
            unavailable(f"backend 'kind' needs Docker ({why}); use --k8s-backend=local instead")
        try:
            pytest_kind = importlib.import_module("pytest_kind")
        except ImportError:
            unavailable("backend 'kind' needs pytest-kind: pip install pytest-kind")
        kind_bin = shutil.which("kind")
        kubectl_bin = shutil.which("kubectl") or str(local.bin_dir() / "kubectl")
        if kind_bin is None or not Path(kubectl_bin).is_file():
            # pytest-kind would otherwise download them from the internet: not here.
            unavailable("backend 'kind' needs `kind` and `kubectl` on PATH")
        kind = pytest_kind.KindCluster(f"mlpy-e2e-{uuid.uuid4().hex[:6]}")
        kind.kind_path, kind.kubectl_path = Path(kind_bin), Path(kubectl_bin)
        kind.create()
        try:
            yield K8sCluster(backend, Path(kind.kubeconfig_path), {})
        finally:
            kind.delete()
        return

    state_dir = tmp_path_factory.mktemp("k8s", numbered=True)
    try:
        cluster = local.start_for_session(state_dir, node="off")
    except local.MissingBinariesError as exc:
        unavailable(str(exc))
    except local.ClusterError as exc:
        unavailable(f"local control plane failed to start: {exc}")
    summary_line(
        request.config,
        f"mlpy e2e: local control plane {local.read_versions()['K8S_VERSION']} "
        f"ready in {cluster.startup_seconds:.1f}s {cluster.milestones} (logs: {state_dir / 'logs'})",
    )
    try:
        yield K8sCluster(backend, cluster.kubeconfig, cluster.binaries)
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def k8s_api(k8s_cluster: K8sCluster) -> Iterator[Any]:
    """An official ``kubernetes`` client ``ApiClient`` logged in as cluster admin."""
    from kubernetes import config

    new_client: Any = config.new_client_from_config  # untyped in the client library
    client = new_client(config_file=str(k8s_cluster.kubeconfig))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def k8s_namespace(k8s_api: Any) -> Iterator[str]:
    """A fresh namespace per test, ready for pods (its default ServiceAccount exists), then deleted."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core: Any = client.CoreV1Api(k8s_api)
    name = f"e2e-{uuid.uuid4().hex[:10]}"
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"mlpy-e2e": "1"}))
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            core.read_namespaced_service_account("default", name)
            break
        except ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture(scope="package")
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
