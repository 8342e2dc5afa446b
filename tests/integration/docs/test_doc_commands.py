"""Every command in the pages that need no Kubernetes runs, in order, as a reader would type it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.doc_blocks import PAGES, check_page, parse_page

pytestmark = pytest.mark.integration

LOCAL_PAGES = [p for p in PAGES if not parse_page(p).kubernetes and any(b.runs for b in parse_page(p).blocks)]


@pytest.mark.timeout(900)  # a whole page as a reader runs it: quickstart trains, serves and routes (~3 min)
@pytest.mark.parametrize("path", LOCAL_PAGES)
def test_page_commands_run(path: str, tmp_path: Path) -> None:
    check_page(path, tmp_path)
