"""The control plane: etcd, kube-apiserver (TLS, RBAC), kube-controller-manager and kube-scheduler.

With a real node the API server listens on the node's bridge address, so pods reach it through the
``kubernetes`` Service (the endpoint reconciler publishes that address); without one it listens on
127.0.0.1 only and publishes no endpoint (the reconciler refuses loopback addresses).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from localk8s.api import Api
from localk8s.pki import Pki, write_kubeconfig
from localk8s.processes import LOOPBACK, Processes, free_ports, wait_for

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
#: Components in start order; they are stopped in stages, clients first (see ``STOP_STAGES``).
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


@dataclass(frozen=True)
class ControlPlaneConfig:
    state_dir: Path
    binaries: dict[str, Path]
    #: The address the API server binds and advertises: loopback, or the node's bridge address.
    address: str = LOOPBACK
    #: Whether a real kubelet joins: the API server then gets its client certificate and CA.
    real_node: bool = False


@dataclass
class ControlPlane:
    """What the started control plane gives the rest: its URL, an admin client, kubeconfigs."""

    server: str
    api: Api
    kubeconfigs: dict[str, Path]
    scheduler_port: int


def start_control_plane(
    cfg: ControlPlaneConfig, pki: Pki, procs: Processes, reached: Callable[[str], None]
) -> ControlPlane:
    """Start etcd, the API server, the controller manager and the scheduler; wait for the first two."""
    etcd_port, etcd_peer, kcm_port, sched_port = free_ports(4)
    (api_port,) = free_ports(1, cfg.address)
    server = f"https://{cfg.address}:{api_port}"
    etcd_url = f"http://{LOOPBACK}:{etcd_port}"
    peer_url = f"http://{LOOPBACK}:{etcd_peer}"
    env = {**os.environ}

    def spawn(name: str, args: list[str]) -> None:
        procs.spawn(name, [str(cfg.binaries[name]), *args], env, cfg.state_dir)

    spawn(
        "etcd",
        [
            "--name=mlpy-e2e",
            f"--data-dir={cfg.state_dir / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=mlpy-e2e={peer_url}",
            "--listen-metrics-urls=",
            "--unsafe-no-fsync",  # throw-away data: durability only costs time here
            "--log-level=warn",
        ],
    )

    def etcd_healthy() -> bool:
        procs.check_alive()
        with urllib.request.urlopen(f"{etcd_url}/health", timeout=2) as resp:
            return bool(json.loads(resp.read()).get("health") == "true")

    wait_for("etcd", etcd_healthy, 30, [procs.log("etcd")])
    reached("etcd")

    node_flags: list[str] = ["--endpoint-reconciler-type=none"]
    if cfg.real_node:
        kubelet_crt, kubelet_key = pki.clients["apiserver-kubelet-client"]
        node_flags = [
            "--endpoint-reconciler-type=lease",
            f"--kubelet-client-certificate={kubelet_crt}",
            f"--kubelet-client-key={kubelet_key}",
            f"--kubelet-certificate-authority={pki.ca_crt}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
        ]
    spawn(
        "kube-apiserver",
        [
            f"--etcd-servers={etcd_url}",
            f"--bind-address={cfg.address}",
            f"--advertise-address={cfg.address}",
            f"--secure-port={api_port}",
            f"--cert-dir={cfg.state_dir / 'pki'}",
            f"--tls-cert-file={pki.serving_crt}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_crt}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            *node_flags,
            "--authorization-mode=Node,RBAC",
            # A configured front proxy (aggregation layer) as in real clusters; it also
            # gives the components' delegated authentication its request-header CA.
            f"--requestheader-client-ca-file={pki.ca_crt}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki.clients['front-proxy-client'][0]}",
            f"--proxy-client-key-file={pki.clients['front-proxy-client'][1]}",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
        ],
    )
    admin_crt, admin_key = pki.clients["admin"]
    api = Api(server, pki.ca_crt, admin_crt, admin_key)

    def api_ready() -> bool:
        procs.check_alive()
        return bool(api.get("/readyz") == "ok")

    wait_for("kube-apiserver /readyz", api_ready, 60, [procs.log("kube-apiserver")])
    reached("kube-apiserver")

    kubeconfigs = {
        user: write_kubeconfig(cfg.state_dir / f"{user}.kubeconfig", server, pki.ca_crt, *pair, user)
        for user, pair in pki.clients.items()
        if user not in ("front-proxy-client", "apiserver-kubelet-client")
    }
    shutil.copyfile(kubeconfigs["admin"], cfg.state_dir / "kubeconfig")
    (cfg.state_dir / "kubeconfig").chmod(0o600)

    kcm_cfg = str(kubeconfigs["kube-controller-manager"])
    spawn(
        "kube-controller-manager",
        [
            f"--kubeconfig={kcm_cfg}",
            f"--authentication-kubeconfig={kcm_cfg}",
            f"--authorization-kubeconfig={kcm_cfg}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={kcm_port}",
            f"--cert-dir={cfg.state_dir / 'kcm-certs'}",
            "--use-service-account-credentials=true",
            # "*" is every default controller: garbage collector, deployment, replicaset,
            # job, cronjob, namespace, serviceaccount, node lifecycle and more.
            "--controllers=*",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_crt}",
            f"--cluster-signing-cert-file={pki.ca_crt}",
            f"--cluster-signing-key-file={pki.ca_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ],
    )
    sched_cfg = str(kubeconfigs["kube-scheduler"])
    spawn(
        "kube-scheduler",
        [
            f"--kubeconfig={sched_cfg}",
            f"--authentication-kubeconfig={sched_cfg}",
            f"--authorization-kubeconfig={sched_cfg}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={sched_port}",
            f"--cert-dir={cfg.state_dir / 'scheduler-certs'}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ],
    )
    return ControlPlane(server, api, kubeconfigs, sched_port)


def wait_scheduler(plane: ControlPlane, procs: Processes) -> None:
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    url = f"https://{LOOPBACK}:{plane.scheduler_port}/healthz"

    def healthy() -> bool:
        with urllib.request.urlopen(url, context=insecure, timeout=2) as resp:
            return bool(resp.read() == b"ok")

    wait_for("kube-scheduler /healthz", healthy, 30, [procs.log("kube-scheduler")])


def wait_default_service_account(plane: ControlPlane, procs: Processes, timeout: float) -> None:
    def ready() -> bool:
        procs.check_alive()
        return plane.api.exists("/api/v1/namespaces/default/serviceaccounts/default")

    wait_for("the default ServiceAccount", ready, timeout, [procs.log("kube-controller-manager")])
