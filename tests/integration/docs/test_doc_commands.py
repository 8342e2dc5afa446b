"""Every command in the pages that need no Kubernetes runs, in order, as a reader would type it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.doc_blocks import IN_CI, PAGES, missing_programs, parse_page, reader_env, run_page, save_transcript

pytestmark = pytest.mark.integration

LOCAL_PAGES = [p for p in PAGES if not parse_page(p).kubernetes and any(b.runs for b in parse_page(p).blocks)]


@pytest.mark.parametrize("path", LOCAL_PAGES)
def test_page_commands_run(path: str, tmp_path: Path) -> None:
    page = parse_page(path)
    missing = missing_programs(page)
    if missing:
        message = f"{path} runs {', '.join(missing)}, which is not installed"
        if IN_CI:
            pytest.fail(f"CI must install it: {message}", pytrace=False)
        pytest.skip(message)
    transcript = run_page(page, tmp_path, reader_env(tmp_path / "home"))
    save_transcript(path, transcript)
    assert len(transcript) >= sum(b.runs for b in page.blocks)
