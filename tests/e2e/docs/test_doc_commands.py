"""Every command in the pages about Kubernetes runs against a control plane of its own.

The pages install the chart cluster-wide, delete CRDs and run the operator across namespaces, so each
page gets a fresh local control plane (about 11 s) rather than the one the other end-to-end tests share.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import localk8s as local
from tests.doc_blocks import PAGES, Block, Page, check_page, parse_page
from tests.e2e.conftest import unavailable

pytestmark = pytest.mark.e2e

CLUSTER_PAGES = [p for p in PAGES if parse_page(p).kubernetes and any(b.runs for b in parse_page(p).blocks)]


@contextlib.contextmanager
def page_cluster(k8s_cluster: Any, page: Page, directory: Path) -> Iterator[Path]:
    """A cluster of the page's own: kwok nodes, or a real node with its stores for a ``node`` page."""
    if page.starts_node:
        reason = local.start_blockers(local.find_binaries())
        if reason:
            unavailable(f"{page.path} starts a real node: {reason}")
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
    page = parse_page(path)
    with page_cluster(k8s_cluster, page, tmp_path_factory.mktemp("docs-k8s")) as kubeconfig:
        compared: list[Block] = []
        before = statuses_checked_before_delete(kubeconfig, compared) if page.node else None
        check_page(path, tmp_path, {"KUBECONFIG": str(kubeconfig)}, before)
    if page.node:  # a page edited so that no block matches any more must not drop the comparison
        assert compared, f"no block of {path} starts with {DELETE_BLOCK!r}: the statuses were never compared"


#: How the walkthrough's delete block begins; its statuses are compared just before it runs.
DELETE_BLOCK = "kubectl delete -f drift.yaml"


def statuses_checked_before_delete(kubeconfig: Path, compared: list[Block]) -> Callable[[Block], None]:
    """Before the walkthrough deletes its resources, their statuses are compared with reviewed YAML;
    each block compared before is added to ``compared``."""

    def check(block: Block) -> None:
        if not block.text.startswith(DELETE_BLOCK):
            return
        done = subprocess.run(
            [str(local.bin_dir() / "kubectl"), "get", "mv,exp,dm", "-n", "models", "-o", "json"],
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        seen = [status_summary(item) for item in json.loads(done.stdout)["items"]]
        expected = yaml.safe_load(WALKTHROUGH_STATUSES.read_text())
        assert seen == expected, yaml.safe_dump(seen, sort_keys=False)
        compared.append(block)

    return check


WALKTHROUGH_STATUSES = Path(__file__).parent / "expected" / "walkthrough-statuses.yaml"


def status_summary(item: dict[str, Any]) -> dict[str, Any]:
    """What the walkthrough must end with, without what varies by run (times, hashes, counts)."""
    status = item.get("status") or {}
    summary: dict[str, Any] = {"kind": item["kind"], "name": item["metadata"]["name"]}
    if "stage" in item["spec"]:
        summary["stage"] = item["spec"]["stage"]
    for key in ("phase", "decision", "winner", "weightsSummary", "datasetDrift", "driftedColumns"):
        if key in status:
            summary[key] = status[key]
    summary["conditions"] = sorted(
        f"{c['type']}={c['status']} {c.get('reason', '')}".strip() for c in status.get("conditions") or []
    )
    stale = [
        c["type"]
        for c in status.get("conditions") or []
        if c.get("observedGeneration") != item["metadata"]["generation"]
    ]
    summary["conditionsOfAnOlderGeneration"] = sorted(stale)
    return summary
