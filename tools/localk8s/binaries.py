"""Where the pinned versions, the built binaries and the cache live (one place for each)."""

from __future__ import annotations

import os
from pathlib import Path

from localk8s.errors import MissingBinariesError

REPO = Path(__file__).resolve().parents[2]
K8S_SCRIPTS = REPO / "scripts" / "k8s"
VERSIONS_FILE = K8S_SCRIPTS / "versions.env"
BUILD_HINT = "bash scripts/k8s/build.sh"

#: What the control plane with kwok nodes runs; kubectl is there for people and for tests.
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl")
#: What a real node adds: the node agent, the Service proxy and cluster DNS.
NODE_BINARIES = ("kubelet", "kube-proxy", "coredns")
#: Built too, but no component needs them: reported when present.
OPTIONAL_BINARIES = ("helm",)


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """The pinned versions: ``scripts/k8s/versions.env`` is their only home."""
    versions: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip().strip("\"'")
    return versions


def cache_root() -> Path:
    """Where build.sh puts binaries and images; ``MLPY_K8S_CACHE`` moves it, as in build.sh."""
    return Path(os.environ.get("MLPY_K8S_CACHE") or Path.home() / ".cache" / "mlpy-k8s")


def bin_dir() -> Path:
    return cache_root() / read_versions()["K8S_VERSION"] / "bin"


def find_binaries(required: tuple[str, ...] = BINARIES) -> dict[str, Path]:
    """Each binary from ``KUBEBUILDER_ASSETS`` first (as envtest does), else from build.sh's cache.

    Binaries outside ``required`` are returned when present, so callers can ask what else is there.
    """
    dirs = [Path(p) for p in os.environ.get("KUBEBUILDER_ASSETS", "").split(os.pathsep) if p]
    dirs.append(bin_dir())
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in dict.fromkeys((*BINARIES, *NODE_BINARIES, *OPTIONAL_BINARIES, *required)):
        for d in dirs:
            candidate = d / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found[name] = candidate
                break
        else:
            if name in required:
                missing.append(name)
    if missing:
        where = " or ".join(str(d) for d in dirs)
        raise MissingBinariesError(
            f"Kubernetes test binaries missing ({', '.join(missing)}) in {where}: run `{BUILD_HINT}`"
        )
    return found
