"""A real two-node Ray cluster on this machine for the tests, kept to it: every node on 127.0.0.1 (Ray
binds its servers to loopback then), no dashboard, no usage statistics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

LOOPBACK = "127.0.0.1"
#: What keeps Ray on this machine: no usage statistics sent, loopback addresses left loopback.
CONFINEMENT = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@contextlib.contextmanager
def loopback_cluster() -> Iterator[Any]:
    """A head and a second node, one CPU each; the nodes inherit this process's environment (as a
    cluster's machines have their own credentials). Leaves the cluster, and stops it, at the end."""
    with pytest.MonkeyPatch.context() as env:
        for key, value in CONFINEMENT.items():
            env.setenv(key, value)
        from ray.cluster_utils import Cluster

        from mlpy.training import disconnect_ray

        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "include_dashboard": False, "node_ip_address": LOOPBACK},
        )
        try:
            cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
            cluster.wait_for_nodes()
            yield cluster
        finally:
            disconnect_ray()
            cluster.shutdown()
