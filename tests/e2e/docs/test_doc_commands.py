"""Every command in the pages about Kubernetes runs against a control plane of its own.

The pages install the chart cluster-wide, delete CRDs and run the operator across namespaces, so each
page gets a fresh local control plane (about 11 s) rather than the one the other end-to-end tests share.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.doc_blocks import IN_CI, PAGES, missing_programs, parse_page, reader_env, run_page, save_transcript
from tests.e2e import cluster as local

pytestmark = pytest.mark.e2e

CLUSTER_PAGES = [p for p in PAGES if parse_page(p).kubernetes and any(b.runs for b in parse_page(p).blocks)]


@pytest.fixture
def docs_kubeconfig(k8s_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if k8s_cluster.backend != "local":
        yield k8s_cluster.kubeconfig
        return
    own = local.start_for_session(tmp_path_factory.mktemp("docs-k8s"))
    try:
        yield own.kubeconfig
    finally:
        own.stop()


@pytest.mark.parametrize("path", CLUSTER_PAGES)
def test_page_commands_run(path: str, tmp_path: Path, docs_kubeconfig: Path) -> None:
    page = parse_page(path)
    missing = missing_programs(page)
    if missing:
        message = f"{path} runs {', '.join(missing)}, which is not installed"
        if IN_CI:
            pytest.fail(f"CI must install it: {message}", pytrace=False)
        pytest.skip(message)
    env = reader_env(tmp_path / "home", {"KUBECONFIG": str(docs_kubeconfig)})
    transcript = run_page(page, tmp_path, env)
    save_transcript(path, transcript)
    assert len(transcript) >= sum(b.runs for b in page.blocks)
