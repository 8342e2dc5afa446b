"""Generated documentation stays in step with its sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_crd_reference_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "crd_reference.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_http_api_reference_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "api_reference.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
