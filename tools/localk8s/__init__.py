"""localk8s: a real Kubernetes cluster on one machine, for mlpy's end-to-end tests and by hand.

The public face: start a cluster (``start_for_session`` in tests, ``python -m localk8s start`` by
hand), build the images its node runs (``build_images``), and read its confinement (``audit``).
"""

from localk8s.binaries import BINARIES, NODE_BINARIES, bin_dir, cache_root, find_binaries, read_versions
from localk8s.cleanup import HostSnapshot
from localk8s.cluster import (
    LocalCluster,
    NodeMode,
    node_unavailable_reason,
    start_blockers,
    start_for_session,
    stop_cluster,
)
from localk8s.confinement import Audit, audit_confinement
from localk8s.derived import build_derived, import_into
from localk8s.errors import ClusterError, ImageBuildError, MissingBinariesError, NodeUnavailableError
from localk8s.images import Image, build_images, current_images, product_images, stale_images
from localk8s.kwok import FAKE_NODE, TAINT_KEY
from localk8s.network import COMPONENT_SYSCTLS, NODE_SYSCTLS, NodeNetwork
from localk8s.node import NODE_NAME
from localk8s.pki import make_pki, write_kubeconfig
from localk8s.processes import die_with_parent, free_port, free_ports

__all__ = [
    "BINARIES",
    "COMPONENT_SYSCTLS",
    "FAKE_NODE",
    "NODE_BINARIES",
    "NODE_NAME",
    "NODE_SYSCTLS",
    "TAINT_KEY",
    "Audit",
    "ClusterError",
    "HostSnapshot",
    "Image",
    "ImageBuildError",
    "LocalCluster",
    "MissingBinariesError",
    "NodeMode",
    "NodeNetwork",
    "NodeUnavailableError",
    "audit_confinement",
    "bin_dir",
    "build_derived",
    "build_images",
    "cache_root",
    "current_images",
    "die_with_parent",
    "find_binaries",
    "free_port",
    "free_ports",
    "import_into",
    "make_pki",
    "node_unavailable_reason",
    "product_images",
    "read_versions",
    "stale_images",
    "start_blockers",
    "start_for_session",
    "stop_cluster",
    "write_kubeconfig",
]
