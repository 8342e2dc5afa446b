"""The command line: start, stop and inspect the local cluster, build its images, audit its network."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localk8s import images
from localk8s.binaries import BINARIES, cache_root, find_binaries
from localk8s.cluster import LocalCluster, NodeMode, start_blockers, stop_cluster
from localk8s.confinement import audit_confinement
from localk8s.containerd import IMAGES_HINT, Containerd
from localk8s.errors import ClusterError
from localk8s.network import NodeNetwork
from localk8s.processes import alive

COMPONENTS = (
    "redis",
    "s3",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
    "kube-proxy",
    "coredns",
    "kwok",
)


def default_state_dir() -> Path:
    return Path(os.environ.get("MLPY_K8S_CLUSTER_DIR") or cache_root() / "cluster")


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return state


def cmd_start(args: argparse.Namespace) -> int:
    state_dir: Path = args.dir
    state = _read_state(state_dir)
    if state and any(alive(int(p)) for p in state["pids"].values()):
        print(f"already running; kubeconfig: {state['kubeconfig']}")
        return 0
    if state:
        stop_cluster(state_dir)  # a cluster killed outright: undo what its node left
    if state_dir.exists():
        shutil.rmtree(state_dir)  # fresh etcd and certificates every start
    mode: NodeMode = "off" if args.kwok_only else ("require" if args.real_node else "auto")
    binaries = find_binaries(BINARIES)
    build_stale_images(mode, binaries)
    cluster = LocalCluster(state_dir, binaries, die_with_parent=False, node=mode, stores=args.stores)
    cluster.start()
    nodes = (
        "a real node and a kwok node" if cluster.real_node else f"kwok nodes only ({cluster.node_skipped})"
    )
    print(f"local cluster up in {cluster.startup_seconds:.1f}s at {cluster.server}: {nodes}")
    print(f"logs: {state_dir / 'logs'}")
    if args.stores and cluster.real_node:
        print(f"stores (PostgreSQL, Redis, S3 on {cluster.net.node_ip}): source {state_dir / 'stores.env'}")
    print(f"export KUBECONFIG={cluster.kubeconfig}")
    return 0


def build_stale_images(mode: NodeMode, binaries: dict[str, Path]) -> None:
    """Build the node's images when they are all that keeps a real node from starting: every source
    edit makes them stale, and a first start has none, so without this the default start would be
    kwok only after each edit. A build that fails leaves ``auto`` with kwok nodes, saying why."""
    if mode == "off" or not (stale := images.stale_images()) or start_blockers(binaries) is not None:
        return
    print(f"images out of date ({', '.join(stale)}): building them, as `{IMAGES_HINT}` does")
    try:
        images.build_images()
    except ClusterError as exc:
        if mode == "require":
            raise
        print(f"images: the build failed, so kwok nodes only: {str(exc).splitlines()[0]}")


def cmd_stop(args: argparse.Namespace) -> int:
    if not _read_state(args.dir):
        print("not running")
        return 0
    stop_cluster(args.dir)
    print("stopped")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = _read_state(args.dir)
    if not state:
        print("not running")
        return 1
    up = True
    for name in COMPONENTS:
        pid = state["pids"].get(name)
        if pid is None:
            continue
        running = alive(int(pid))
        up = up and running
        print(f"{name:<24} {'running' if running else 'DOWN':<8} pid={pid}")
    node = "real node and kwok node" if state.get("real_node") else f"kwok only ({state.get('node_skipped')})"
    print(f"nodes: {node}\nserver: {state['server']}\nexport KUBECONFIG={state['kubeconfig']}")
    if state.get("stores"):
        print(f"stores: source {state['stores']}")
    return 0 if up else 1


def cmd_images(args: argparse.Namespace) -> int:
    blockers = images.build_blockers()
    if blockers:
        print(f"images: skipped: {'; '.join(blockers)}")
        return 0 if args.if_possible else 1
    images.build_images()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    state = _read_state(args.dir)
    if not state or not state.get("real_node"):
        print("no real node is running: nothing to audit")
        return 1
    net = NodeNetwork(state["bridge"], state["pod_cidr"], state["service_cidr"])
    runtime = Containerd.for_cluster(Path(), args.dir)
    netns = runtime.state / "io.containerd.grpc.v1.cri" / "netns"
    audit = audit_confinement(net, runtime.cni_conf_dir, netns, args.dir / "Corefile")
    print("\n".join(audit.seen))
    print("confined" if not audit.violations else "NOT CONFINED:\n" + "\n".join(audit.violations))
    return 0 if not audit.violations else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster.sh", description="A local Kubernetes cluster for mlpy.")
    parser.add_argument(
        "--dir", type=Path, default=None, help="state directory (default: ~/.cache/mlpy-k8s/cluster)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start the cluster (a real node when this machine can run one)")
    group = start.add_mutually_exclusive_group()
    group.add_argument("--kwok-only", action="store_true", help="fake kwok nodes only: no containers run")
    group.add_argument("--real-node", action="store_true", help="fail unless a real node can join")
    start.add_argument(
        "--stores",
        action="store_true",
        help="also PostgreSQL, Redis and S3 on the node's address (stores.env)",
    )
    sub.add_parser("stop", help="stop it and remove what its node added to the host")
    sub.add_parser("status", help="which components run")
    build = sub.add_parser("images", help="build the images the node runs (cached)")
    build.add_argument(
        "--if-possible", action="store_true", help="say why and exit 0 where they cannot be built"
    )
    sub.add_parser("audit", help="read the rules that confine the pod network")
    args = parser.parse_args(argv)
    args.dir = args.dir or default_state_dir()
    commands = {
        "start": cmd_start,
        "stop": cmd_stop,
        "status": cmd_status,
        "images": cmd_images,
        "audit": cmd_audit,
    }
    try:
        return commands[args.command](args)
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
