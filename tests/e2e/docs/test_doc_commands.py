"""Every command in the pages about Kubernetes runs against a control plane of its own.

The pages install the chart cluster-wide, delete CRDs and run the operator across namespaces, so each
page gets a fresh local control plane (about 11 s) rather than the one the other end-to-end tests share.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import localk8s as local
from tests.doc_blocks import PAGES, Page, check_page, parse_page
from tests.e2e.conftest import unavailable

pytestmark = pytest.mark.e2e

CLUSTER_PAGES = [p for p in PAGES if parse_page(p).kubernetes and any(b.runs for b in parse_page(p).blocks)]


@contextlib.contextmanager
def page_cluster(k8s_cluster: Any, page: Page, directory: Path) -> Iterator[Path]:
    """A cluster of the page's own: kwok nodes, or a real node with its stores for a ``node`` page."""
    if k8s_cluster.backend != "local":
        if page.node:
            pytest.skip(f"{page.path} runs pods from the images built here: the local backend only")
        yield k8s_cluster.kubeconfig
        return
    if page.node:
        reason = local.node_unavailable_reason(local.find_binaries())
        if reason:
            unavailable(f"{page.path} needs a real node: {reason}")
    own = local.start_for_session(directory, node="require" if page.node else "off", stores=page.node)
    try:
        yield own.kubeconfig
    finally:
        own.stop()


@pytest.mark.timeout(1200)  # the Kubernetes walkthrough concludes an experiment and rolls pods under load
@pytest.mark.parametrize("path", CLUSTER_PAGES)
def test_page_commands_run(
    path: str, tmp_path: Path, k8s_cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with page_cluster(k8s_cluster, parse_page(path), tmp_path_factory.mktemp("docs-k8s")) as kubeconfig:
        check_page(path, tmp_path, {"KUBECONFIG": str(kubeconfig)})
