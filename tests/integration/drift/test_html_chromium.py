"""The HTML report renders in headless Chromium (Debian's ``chromium`` package)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from mlpy.drift import check

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_report_renders_to_a_screenshot(tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        reason = "chromium not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI must provide {reason}", pytrace=False)
        pytest.skip(reason)
    page, shot = tmp_path / "report.html", tmp_path / "report.png"
    page.write_text(check(*frames).to_html())
    subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,900",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1200, 900)
    assert shot.stat().st_size > 10_000  # a blank page compresses to far less
