"""The fake node: kwok plays its kubelet, so pods scheduled there report Running without running.

It carries the scale benchmark's 200 resources and the tests that need many cheap pods. Beside a real
node it is tainted, so only pods that tolerate ``TAINT_KEY`` land there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from localk8s.api import Api
from localk8s.processes import LOOPBACK, Processes, free_ports, wait_for

KWOK_CONFIG = Path(__file__).with_name("kwok.yaml")
FAKE_NODE = "kwok-node-0"
#: Pod IPs of the fake node: loopback addresses, so even a proxied request to a fake pod never
#: leaves the machine.
FAKE_POD_CIDR = "127.1.0.0/24"
TAINT_KEY = "kwok.x-k8s.io/node"


def fake_node(name: str, tainted: bool) -> dict[str, Any]:
    """A Node object that kwok (selected by the annotation) takes care of."""
    spec: dict[str, Any] = {"podCIDR": FAKE_POD_CIDR, "podCIDRs": [FAKE_POD_CIDR]}
    if tainted:
        spec["taints"] = [{"key": TAINT_KEY, "value": "fake", "effect": "NoSchedule"}]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": spec,
        "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "250"}},
    }


def start_kwok(
    binary: Path, kubeconfig: Path, api: Api, procs: Processes, state_dir: Path, tainted: bool
) -> None:
    (kwok_port,) = free_ports(1)
    procs.spawn(
        "kwok",
        [
            str(binary),
            f"--kubeconfig={kubeconfig}",
            f"--config={KWOK_CONFIG}",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--node-ip={LOOPBACK}",
            f"--cidr={FAKE_POD_CIDR}",
            f"--server-address={LOOPBACK}:{kwok_port}",
        ],
        {**os.environ, "KUBECONFIG": str(kubeconfig)},
        state_dir,
    )
    api.request("POST", "/api/v1/nodes", fake_node(FAKE_NODE, tainted))


def wait_node_schedulable(api: Api, procs: Processes, name: str, timeout: float) -> None:
    """Ready, and without the node lifecycle controller's not-ready taints."""

    def schedulable() -> bool:
        procs.check_alive()
        node = api.get(f"/api/v1/nodes/{name}")
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", [])
        )
        tainted = any(t["key"].startswith("node.kubernetes.io/") for t in node["spec"].get("taints", []))
        return ready and not tainted

    logs = [procs.log(c) for c in ("kwok", "kubelet", "kube-controller-manager") if c in procs.pids]
    wait_for(f"node {name} Ready and untainted", schedulable, timeout, logs)
