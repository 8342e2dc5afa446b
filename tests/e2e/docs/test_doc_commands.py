"""Every command in the pages about Kubernetes runs against a control plane of its own.

The pages install the chart cluster-wide, delete CRDs and run the operator across namespaces, so each
page gets a fresh local control plane (about 11 s) rather than the one the other end-to-end tests share.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import localk8s as local
from tests.doc_blocks import PAGES, check_page, parse_page

pytestmark = pytest.mark.e2e

CLUSTER_PAGES = [p for p in PAGES if parse_page(p).kubernetes and any(b.runs for b in parse_page(p).blocks)]


@pytest.fixture
def docs_kubeconfig(k8s_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if k8s_cluster.backend != "local":
        yield k8s_cluster.kubeconfig
        return
    own = local.start_for_session(tmp_path_factory.mktemp("docs-k8s"), node="off")
    try:
        yield own.kubeconfig
    finally:
        own.stop()


@pytest.mark.parametrize("path", CLUSTER_PAGES)
def test_page_commands_run(path: str, tmp_path: Path, docs_kubeconfig: Path) -> None:
    check_page(path, tmp_path, {"KUBECONFIG": str(docs_kubeconfig)})
