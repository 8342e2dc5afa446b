"""A real Kubernetes cluster on this machine, without a container engine or a registry.

The control plane (etcd, kube-apiserver with TLS and RBAC, kube-controller-manager, kube-scheduler)
runs as local processes. Beside it, where the machine allows (root, Debian's containerd, runc and CNI
plugins, images built by ``images.py``), a real node: containerd, kubelet, kube-proxy and CoreDNS on a
bridge confined to the machine. A kwok fake node is always there for tests that need many cheap pods
(tainted beside a real node). Binaries come from ``scripts/k8s/build.sh``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from localk8s import cleanup, images, nodelock
from localk8s.binaries import BINARIES, NODE_BINARIES, cache_root, find_binaries
from localk8s.containerd import IMAGES_HINT, Containerd
from localk8s.controlplane import (
    ControlPlaneConfig,
    start_control_plane,
    wait_default_service_account,
    wait_scheduler,
)
from localk8s.dns import start_coredns
from localk8s.errors import ClusterError, MissingBinariesError, NodeUnavailableError
from localk8s.host import node_blockers
from localk8s.kwok import FAKE_NODE, start_kwok, wait_node_schedulable
from localk8s.network import NodeNetwork, restore_sysctls, save_sysctls, setup_network, teardown_network
from localk8s.node import (
    NODE_NAME,
    NodeConfig,
    cleanup_kube_proxy_rules,
    grant_node_components,
    kubelet_root,
    start_kube_proxy,
    start_kubelet,
)
from localk8s.pki import make_pki
from localk8s.processes import LOOPBACK, Processes, stop_pids
from localk8s.stores import start_stores, stop_postgres, store_blockers

NodeMode = Literal["auto", "require", "off"]
#: Stop order: clients of the API first, the node's runtime after its pods, then the API and etcd.
STOP_STAGES = (
    ("kwok", "kube-proxy", "coredns", "kubelet", "kube-controller-manager", "kube-scheduler", "redis", "s3"),
    ("containerd",),
    ("kube-apiserver",),
    ("etcd",),
)


def containerd_root() -> Path:
    """Images and unpacked layers, kept between runs so each image is imported once."""
    return cache_root() / "containerd"


def blockers_besides_images(binaries: dict[str, Path]) -> list[str]:
    """Why no real node can run here, leaving out images that are merely out of date."""
    reasons = node_blockers()
    missing = [n for n in NODE_BINARIES if n not in binaries]
    if missing:
        reasons.append(f"binaries missing: {', '.join(missing)} (bash scripts/k8s/build.sh)")
    held = nodelock.holder()
    if held and held[1]:
        reasons.append(f"the real node is in use by the cluster in {held[0]}")
    return reasons


def node_unavailable_reason(binaries: dict[str, Path]) -> str | None:
    """Why this machine cannot run a real node now, in one line; None when it can."""
    reasons = blockers_besides_images(binaries)
    if not node_blockers() and (stale := images.stale_images()):
        reasons.append(f"images not built: {', '.join(stale)} ({IMAGES_HINT})")
    return "; ".join(reasons) or None


def start_blockers(binaries: dict[str, Path]) -> str | None:
    """Why ``cluster.sh start`` cannot bring up a real node, in one line; None when it can. Unlike
    ``node_unavailable_reason``, out-of-date images are no reason where they can be built: the start
    builds them."""
    reasons = blockers_besides_images(binaries)
    if not node_blockers() and (stale := images.stale_images()) and (build := images.build_blockers()):
        reasons.append(f"images not built: {', '.join(stale)}, and they cannot be here: {'; '.join(build)}")
    return "; ".join(reasons) or None


@dataclass
class LocalCluster:
    """One local cluster whose files (certs, etcd data, logs, kubeconfig) live in ``state_dir``."""

    state_dir: Path
    binaries: dict[str, Path]
    die_with_parent: bool = True
    node: NodeMode = "auto"
    #: Also run PostgreSQL, Redis and S3 on the node's address (see ``stores.py``); a real node only.
    stores: bool = False
    net: NodeNetwork = field(default_factory=NodeNetwork)
    server: str = ""
    startup_seconds: float = 0.0
    #: Seconds from the start of ``start()`` at which each readiness check passed.
    milestones: dict[str, float] = field(default_factory=dict)
    #: Whether a real node joined, and if not, why (one line).
    real_node: bool = False
    node_skipped: str | None = None
    procs: Processes = field(init=False)

    def __post_init__(self) -> None:
        self.procs = Processes(self.state_dir / "logs", self.die_with_parent)

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def pids(self) -> dict[str, int]:
        return self.procs.pids

    @property
    def containerd(self) -> Containerd:
        return Containerd.for_cluster(containerd_root(), self.state_dir)

    @property
    def corefile(self) -> Path:
        return self.state_dir / "Corefile"

    @property
    def netns_dir(self) -> Path:
        return self.containerd.state / "io.containerd.grpc.v1.cri" / "netns"

    def log(self, component: str) -> Path:
        return self.procs.log(component)

    def _save_state(self) -> None:
        state = {
            "pids": self.pids,
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "startup_seconds": self.startup_seconds,
            "milestones": self.milestones,
            "real_node": self.real_node,
            "node_skipped": self.node_skipped,
            "stores": str(self.state_dir / "stores.env") if self.stores and self.real_node else None,
            "bridge": self.net.bridge,
            "pod_cidr": self.net.pod_cidr,
            "service_cidr": self.net.service_cidr,
            "kube_proxy": str(self.binaries.get("kube-proxy", "")),
        }
        (self.state_dir / "state.json").write_text(json.dumps(state, indent=2))

    def _decide_node(self) -> None:
        if self.node == "off":
            self.node_skipped = "kwok nodes only, as asked"
            return
        reason = node_unavailable_reason(self.binaries)
        if reason is None and self.stores and (blockers := store_blockers()):
            reason = "; ".join(blockers)
        if reason and self.node == "require":
            raise NodeUnavailableError(f"a real node cannot run here: {reason}")
        self.real_node, self.node_skipped = reason is None, reason

    def start(self, timeout: float = 180.0) -> None:
        """Start every component and return once pods can be scheduled (and run, on a real node)."""
        t0 = time.monotonic()

        def reached(milestone: str) -> None:
            self.milestones[milestone] = round(time.monotonic() - t0, 2)

        self.state_dir.mkdir(parents=True, exist_ok=True)
        with nodelock.starting():
            self._decide_node()
            if self.real_node:
                _recover_stale_node()
                nodelock.take(self.state_dir)
        try:
            self._start(reached, t0, timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = round(time.monotonic() - t0, 2)
        self._save_state()

    def _start(self, reached: Any, t0: float, timeout: float) -> None:
        address = LOOPBACK
        if self.real_node:
            before = cleanup.chains()
            (self.state_dir / "chains-before.json").write_text(
                json.dumps({k: sorted(v) for k, v in before.items()})
            )
            save_sysctls(self.state_dir / "sysctls-before.json")
            self._save_state()
            setup_network(self.net)
            address = self.net.node_ip
            reached("network")
        node = (NODE_NAME, self.net.node_ip) if self.real_node else None
        pki = make_pki(self.state_dir / "pki", [address], self.net.api_service_ip, node)
        plane = start_control_plane(
            ControlPlaneConfig(self.state_dir, self.binaries, address, self.real_node),
            pki,
            self.procs,
            reached,
        )
        self.server = plane.server
        self._save_state()
        if self.real_node:
            self._start_node(plane.api, plane.kubeconfigs, pki, reached)
        start_kwok(
            self.binaries["kwok"],
            plane.kubeconfigs["kwok"],
            plane.api,
            self.procs,
            self.state_dir,
            self.real_node,
        )
        self._save_state()
        remaining = max(10.0, timeout - (time.monotonic() - t0))
        wait_node_schedulable(plane.api, self.procs, FAKE_NODE, remaining)
        if self.real_node:
            wait_node_schedulable(
                plane.api, self.procs, NODE_NAME, max(10.0, timeout - (time.monotonic() - t0))
            )
        reached("node")
        wait_default_service_account(plane, self.procs, max(10.0, timeout - (time.monotonic() - t0)))
        reached("serviceaccount")
        wait_scheduler(plane, self.procs)
        reached("kube-scheduler")

    def _start_node(self, api: Any, kubeconfigs: dict[str, Path], pki: Any, reached: Any) -> None:
        grant_node_components(api)
        runtime = self.containerd
        runtime.start(self.procs, self.state_dir)
        self._save_state()
        runtime.import_images({i.ref: (i.archive, i.key) for i in images.current_images().values()})
        reached("images")
        from localk8s.network import write_cni_config

        write_cni_config(self.net, runtime.cni_conf_dir, self.state_dir / "cni-ipam")
        cfg = NodeConfig(self.state_dir, self.binaries, self.net, runtime.endpoint)
        start_kubelet(cfg, pki, kubeconfigs["kubelet"], self.procs)
        start_kube_proxy(cfg, kubeconfigs["kube-proxy"], self.procs)
        self._save_state()
        start_coredns(
            self.binaries["coredns"], self.net, kubeconfigs["coredns"], api, self.procs, self.state_dir
        )
        reached("dns")
        if self.stores:
            start_stores(self.net, self.procs, self.state_dir)
            reached("stores")

    def stop(self) -> None:
        """Stop everything and remove what the node added; safe to call twice."""
        stop_cluster(self.state_dir, self.procs)


def _recover_stale_node() -> None:
    """A cluster killed outright left the node's processes, mounts and rules: clean them up first."""
    held = nodelock.holder()
    if held and not held[1]:
        stop_cluster(held[0])


def stop_cluster(state_dir: Path, procs: Processes | None = None) -> None:
    """Stop the cluster recorded in ``state_dir`` and undo what its node changed on the host."""
    try:
        state: dict[str, Any] = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        state = {}
    pids = dict(procs.pids) if procs else {k: int(v) for k, v in state.get("pids", {}).items()}
    real = bool(state.get("real_node"))
    first, runtime_stage, *rest = STOP_STAGES
    stop_pids(pids, [first])
    if real or "containerd" in pids:
        runtime = Containerd.for_cluster(containerd_root(), state_dir)
        with contextlib.suppress(ClusterError):
            runtime.remove_containers()
        stop_pids(pids, [runtime_stage])
        cleanup.kill_shims(runtime.socket)
        cleanup.kill_kubepods_processes()
        stop_postgres(state_dir)
        kubelet = kubelet_root(state_dir)
        cleanup.unmount_under([state_dir, runtime.state, kubelet, containerd_root()])
        cleanup.remove_kubepods_cgroups()
        for private in (runtime.state, kubelet.parent):
            shutil.rmtree(private, ignore_errors=True)
    stop_pids(pids, [*rest, [n for n in pids if n not in {c for stage in STOP_STAGES for c in stage}]])
    if procs:
        procs.stop([])
    if real:
        proxy = state.get("kube_proxy")
        if proxy:
            cleanup_kube_proxy_rules(Path(proxy))
        with contextlib.suppress(OSError, ValueError):
            before = json.loads((state_dir / "chains-before.json").read_text())
            cleanup.remove_new_chains({k: set(v) for k, v in before.items()})
        net = NodeNetwork(state["bridge"], state["pod_cidr"], state["service_cidr"])
        teardown_network(net)
        restore_sysctls(state_dir / "sysctls-before.json")
        nodelock.release(state_dir)
    (state_dir / "state.json").unlink(missing_ok=True)


def start_for_session(
    state_dir: Path | None = None, timeout: float = 180.0, node: NodeMode = "auto", stores: bool = False
) -> LocalCluster:
    """Start a cluster tied to this process.

    Stopped by the caller, else at interpreter exit (atexit), else by the kernel if the process is
    killed outright (PR_SET_PDEATHSIG; the next start then cleans up after the node).
    """
    directory = state_dir or Path(tempfile.mkdtemp(prefix="mlpy-k8s-"))
    binaries = find_binaries(BINARIES)
    for attempt in (1, 2):
        # A second try with fresh ports covers a port taken between probe and bind.
        attempt_dir = directory if attempt == 1 else directory.with_name(directory.name + "-retry")
        cluster = LocalCluster(attempt_dir, binaries, die_with_parent=True, node=node, stores=stores)
        atexit.register(cluster.stop)
        try:
            cluster.start(timeout=timeout)
        except ClusterError as exc:
            if attempt == 2 or "address already in use" not in str(exc):
                raise
            continue
        return cluster
    raise AssertionError("unreachable")


__all__ = [
    "ClusterError",
    "LocalCluster",
    "MissingBinariesError",
    "NodeUnavailableError",
    "start_for_session",
    "stop_cluster",
]
