"""The real node: kubelet (containerd as its runtime, authentication on) and kube-proxy.

The kubelet listens on the node's bridge address with a serving certificate from the cluster CA;
the API server verifies it and presents its own client certificate, which the kubelet checks (x509)
and authorises with a webhook (SubjectAccessReview), as on a kubeadm node.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localk8s.api import Api
from localk8s.host import LIB_ROOT, short_dir
from localk8s.network import NodeNetwork
from localk8s.pki import COREDNS_USER, KUBELET_CLIENT_USER, Pki
from localk8s.processes import LOOPBACK, Processes, free_ports, wait_for

NODE_NAME = "mlpy-node-0"


@dataclass(frozen=True)
class NodeConfig:
    state_dir: Path
    binaries: dict[str, Path]
    net: NodeNetwork
    runtime_endpoint: str
    name: str = NODE_NAME


def kubelet_root(state_dir: Path) -> Path:
    """Pods' volumes and the kubelet's sockets: under a short path (see ``host.short_dir``)."""
    return short_dir(LIB_ROOT, state_dir) / "kubelet"


def kubelet_configuration(cfg: NodeConfig, pki: Pki, port: int, healthz: int) -> dict[str, Any]:
    """The KubeletConfiguration; each setting that departs from a default is needed on this machine."""
    assert pki.kubelet_serving is not None
    crt, key = pki.kubelet_serving
    resolv = cfg.state_dir / "kubelet" / "resolv.conf"
    resolv.parent.mkdir(parents=True, exist_ok=True)
    resolv.write_text("")  # pods get the cluster DNS and nothing of the host's resolver
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": cfg.net.node_ip,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": LOOPBACK,
        "healthzPort": healthz,
        "tlsCertFile": str(crt),
        "tlsPrivateKeyFile": str(key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.ca_crt)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": cfg.runtime_endpoint,
        "cgroupDriver": "cgroupfs",  # no systemd as PID 1
        "failCgroupV1": False,  # this kind of machine has cgroup v1 (hybrid)
        "failSwapOn": False,
        "clusterDNS": [cfg.net.dns_service_ip],
        "clusterDomain": "cluster.local",
        "resolvConf": str(resolv),
        "hairpinMode": "hairpin-veth",
        # A small disk must not evict the tests' pods or collect the locally built images.
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "imageMinimumGCAge": "876000h",
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "registerNode": True,
        "maxPods": 110,
        "shutdownGracePeriod": "0s",
        "nodeStatusUpdateFrequency": "5s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "20s",
        "volumeStatsAggPeriod": "0s",
        "enableDebuggingHandlers": True,  # logs, exec, port-forward
        "logging": {"format": "text", "verbosity": 1},
    }


def kube_proxy_configuration(cfg: NodeConfig, kubeconfig: Path, healthz: int, metrics: int) -> dict[str, Any]:
    """iptables mode; it leaves the conntrack table and localhost routing of the machine alone."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": cfg.name,
        "bindAddress": cfg.net.node_ip,
        "clusterCIDR": cfg.net.pod_cidr,
        "healthzBindAddress": f"{LOOPBACK}:{healthz}",
        "metricsBindAddress": f"{LOOPBACK}:{metrics}",
        "nodePortAddresses": [f"{cfg.net.node_ip}/32"],
        "iptables": {"localhostNodePorts": False, "syncPeriod": "5s", "minSyncPeriod": "0s"},
        "conntrack": {
            "maxPerCore": 0,  # 0: leave nf_conntrack_max as the machine has it
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


def grant_node_components(api: Api) -> None:
    """RBAC the bootstrap policy lacks: the API server's kubelet client and CoreDNS's reads."""
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    api.apply(
        f"{rbac}/clusterrolebindings/mlpy:apiserver-kubelet-client",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "mlpy:apiserver-kubelet-client"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:kubelet-api-admin",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": KUBELET_CLIENT_USER}
            ],
        },
    )
    api.apply(
        f"{rbac}/clusterroles/mlpy:coredns",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "mlpy:coredns"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services", "namespaces", "pods"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
    )
    api.apply(
        f"{rbac}/clusterrolebindings/mlpy:coredns",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "mlpy:coredns"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "mlpy:coredns",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": COREDNS_USER}],
        },
    )


def start_kubelet(cfg: NodeConfig, pki: Pki, kubeconfig: Path, procs: Processes) -> None:
    (port,) = free_ports(1, cfg.net.node_ip)
    (healthz,) = free_ports(1)
    path = cfg.state_dir / "kubelet" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kubelet_configuration(cfg, pki, port, healthz), indent=2))
    procs.spawn(
        "kubelet",
        [
            str(cfg.binaries["kubelet"]),
            f"--config={path}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={kubelet_root(cfg.state_dir)}",
            f"--hostname-override={cfg.name}",
            f"--node-ip={cfg.net.node_ip}",
            "--node-labels=type=node",
        ],
        {**os.environ, "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")},
        cfg.state_dir,
    )

    def healthy() -> bool:
        procs.check_alive()
        with urllib.request.urlopen(f"http://{LOOPBACK}:{healthz}/healthz", timeout=2) as resp:
            return bool(resp.read() == b"ok")

    wait_for("kubelet /healthz", healthy, 60, [procs.log("kubelet")])


def start_kube_proxy(cfg: NodeConfig, kubeconfig: Path, procs: Processes) -> None:
    healthz, metrics = free_ports(2)
    path = cfg.state_dir / "kube-proxy.json"
    path.write_text(json.dumps(kube_proxy_configuration(cfg, kubeconfig, healthz, metrics), indent=2))
    procs.spawn(
        "kube-proxy", [str(cfg.binaries["kube-proxy"]), f"--config={path}"], {**os.environ}, cfg.state_dir
    )

    def synced() -> bool:
        procs.check_alive()
        # /healthz answers 200 only once the proxier has written its rules.
        with urllib.request.urlopen(f"http://{LOOPBACK}:{healthz}/healthz", timeout=2) as resp:
            return bool(resp.status == 200)

    wait_for("kube-proxy /healthz (rules written)", synced, 60, [procs.log("kube-proxy")])


def cleanup_kube_proxy_rules(binary: Path) -> None:
    """kube-proxy's own clean-up removes every chain and rule it wrote."""
    import subprocess

    subprocess.run([str(binary), "--cleanup"], capture_output=True, timeout=60, check=False)
