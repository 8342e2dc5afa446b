"""Cluster DNS: CoreDNS on the node's bridge address, behind the ``kube-dns`` Service.

It answers ``cluster.local`` from the API (Services, pods) and nothing else: there is no server
block for any other zone and no ``forward`` plugin, so a name outside the cluster is refused rather
than sent anywhere.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import Any

from localk8s.api import Api
from localk8s.network import NodeNetwork
from localk8s.processes import LOOPBACK, Processes, free_ports, wait_for

CLUSTER_DOMAIN = "cluster.local"


def corefile(net: NodeNetwork, kubeconfig: Path, health: int, ready: int) -> str:
    return "\n".join(
        [
            f"{CLUSTER_DOMAIN}:53 {{",
            f"    bind {net.node_ip}",
            "    errors",
            f"    health {LOOPBACK}:{health}",
            f"    ready {LOOPBACK}:{ready}",
            f"    kubernetes {CLUSTER_DOMAIN} {{",
            f"        kubeconfig {kubeconfig}",
            "        pods insecure",
            "    }",
            "    cache 5",
            "    loadbalance",
            "}",
            "",
        ]
    )


def kube_dns_objects(net: NodeNetwork) -> list[tuple[str, dict[str, Any]]]:
    """The Service pods resolve through, and its endpoint: CoreDNS on the node address."""
    ports = [
        {"name": "dns", "port": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
    ]
    labels = {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}
    service: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
        # No selector: CoreDNS is a process on the node, so its endpoint is written here.
        "spec": {"clusterIP": net.dns_service_ip, "ports": [{**p, "targetPort": 53} for p in ports]},
    }
    slice_: dict[str, Any] = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kube-dns-node",
            "namespace": "kube-system",
            "labels": {
                "kubernetes.io/service-name": "kube-dns",
                "endpointslice.kubernetes.io/managed-by": "localk8s",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [net.node_ip], "conditions": {"ready": True}}],
        "ports": ports,
    }
    return [
        ("/api/v1/namespaces/kube-system/services/kube-dns", service),
        ("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-node", slice_),
    ]


def start_coredns(
    binary: Path, net: NodeNetwork, kubeconfig: Path, api: Api, procs: Processes, state_dir: Path
) -> Path:
    """Start CoreDNS, publish it as ``kube-dns``, wait until it has synced with the API; the Corefile."""
    health, ready = free_ports(2)
    path = state_dir / "Corefile"
    path.write_text(corefile(net, kubeconfig, health, ready))
    procs.spawn("coredns", [str(binary), "-conf", str(path)], {**os.environ}, state_dir)
    for where, obj in kube_dns_objects(net):
        api.apply(where, obj)

    def ready_() -> bool:
        procs.check_alive()
        with urllib.request.urlopen(f"http://{LOOPBACK}:{ready}/ready", timeout=2) as resp:
            return bool(resp.status == 200)

    wait_for("CoreDNS /ready (synced with the API)", ready_, 60, [procs.log("coredns")])
    return path
