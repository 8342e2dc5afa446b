"""scripts/setup-venv.sh reuses a virtualenv only when its stamp covers the extras asked for: the demo's
``all`` does not include the local cluster's ``localk8s`` (cryptography), so ``cluster.sh start``
after the README's demo setup installs it instead of failing on a missing module."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE = '#!/bin/sh\necho "$(basename "$0") $*" >> "$(dirname "$0")/../calls.log"\n'


def checkout(tmp_path: Path, stamped: str) -> Path:
    """The script in a checkout whose .venv was installed with ``stamped``; its python and uv only
    record how they are called."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup-venv.sh", root / "scripts")
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(REPO / name, root)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "uv"):
        (bin_dir / tool).write_text(FAKE)
        (bin_dir / tool).chmod(0o755)
    want = hashlib.sha256((root / "pyproject.toml").read_bytes() + (root / "constraints.txt").read_bytes())
    (root / ".venv" / f".mlpy-install-{stamped}").write_text(want.hexdigest()[:16] + "\n")
    return root


@pytest.mark.parametrize(
    ("stamped", "asked", "installs"),
    [
        ("all", "localk8s", True),  # the demo's setup, then cluster.sh start
        ("dev", "localk8s", False),
        ("localk8s", "localk8s", False),
        ("localk8s", "all", True),
        ("dev", "all", False),
        ("all", "all", False),
    ],
)
def test_a_stamp_counts_only_for_the_extras_it_includes(
    tmp_path: Path, stamped: str, asked: str, installs: bool
) -> None:
    root = checkout(tmp_path, stamped)
    subprocess.run(["bash", "scripts/setup-venv.sh", asked], cwd=root, check=True, timeout=60)
    calls = root / ".venv" / "calls.log"
    log = calls.read_text() if calls.exists() else ""
    assert (f"-e .[{asked}]" in log) is installs, log
    if installs:
        assert (root / ".venv" / f".mlpy-install-{asked}").exists()
