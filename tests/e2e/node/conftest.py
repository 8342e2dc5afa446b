"""Fixtures for tests on a real node: a cluster of their own, with containerd, kubelet, kube-proxy
and CoreDNS, started for the module and stopped at its end (one real node per machine)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import localk8s
from tests.e2e.conftest import K8sCluster, unavailable


@dataclass
class NodeCluster:
    """A started cluster with a real node, and the host as it was before the cluster started."""

    cluster: localk8s.LocalCluster
    before: localk8s.HostSnapshot
    api: Any

    @property
    def kubeconfig(self) -> Path:
        return self.cluster.kubeconfig

    @property
    def node_ip(self) -> str:
        return self.cluster.net.node_ip

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120) -> str:
        done = subprocess.run(
            [str(self.cluster.binaries["kubectl"]), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}{done.stdout}"
            )
        return done.stdout

    def apply(self, namespace: str, *objects: dict[str, Any]) -> None:
        docs = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
        self.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(docs))


def host_sysctls() -> list[str]:
    return [*localk8s.NODE_SYSCTLS, *localk8s.COMPONENT_SYSCTLS]


def _node_cluster(
    k8s_cluster: K8sCluster, tmp_path_factory: pytest.TempPathFactory, stores: bool
) -> Iterator[NodeCluster]:
    if k8s_cluster.backend != "local":
        pytest.skip(
            "real-node tests run on the local backend (they import the images built here), "
            f"not {k8s_cluster.backend!r}"
        )
    binaries = localk8s.find_binaries()
    reason = localk8s.node_unavailable_reason(binaries)
    if reason:
        unavailable(f"no real node on this machine: {reason}")
    before = localk8s.HostSnapshot.take(host_sysctls())
    cluster = localk8s.start_for_session(tmp_path_factory.mktemp("node"), node="require", stores=stores)
    from kubernetes import config

    new_client: Any = config.new_client_from_config
    api = new_client(config_file=str(cluster.kubeconfig))
    try:
        yield NodeCluster(cluster, before, api)
    finally:
        api.close()
        cluster.stop()


@pytest.fixture(scope="module")
def node_cluster(k8s_cluster: K8sCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    """A cluster with a real node for this module; its stop is checked by the module's last test."""
    yield from _node_cluster(k8s_cluster, tmp_path_factory, stores=False)


@pytest.fixture(scope="module")
def node_with_stores(
    k8s_cluster: K8sCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeCluster]:
    """The same with the stores a team has (PostgreSQL, Redis, S3) on the node's address, where pods
    and this process both reach them (``stores.env`` beside the kubeconfig)."""
    yield from _node_cluster(k8s_cluster, tmp_path_factory, stores=True)


@pytest.fixture(scope="module")
def node_s3(node_cluster: NodeCluster) -> Iterator[str]:
    """moto's S3 server on the node's bridge address, where pods reach it (and nothing outside)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=node_cluster.node_ip, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    patch = pytest.MonkeyPatch()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLPY_S3_ENDPOINT_URL": f"http://{host}:{port}",
    }.items():
        patch.setenv(key, value)
    try:
        yield f"http://{host}:{port}"
    finally:
        patch.undo()
        server.stop()


@pytest.fixture
def node_namespace(node_cluster: NodeCluster) -> Iterator[str]:
    """A fresh namespace whose pods run on the real node, deleted after the test."""
    name = f"node-{uuid.uuid4().hex[:8]}"
    node_cluster.kubectl("create", "namespace", name)
    deadline = time.monotonic() + 30
    while not node_cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False):
        if time.monotonic() > deadline:
            raise AssertionError(f"namespace {name} got no default ServiceAccount")
        time.sleep(0.2)
    try:
        yield name
    finally:
        node_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
