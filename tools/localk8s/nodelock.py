"""One real node per machine: it owns the bridge, containerd's socket and kube-proxy's chains.

A small file in /run records which cluster folder holds the node. It is held while that cluster's
processes (or the process starting it) live; a cluster killed outright leaves a stale record, which
the next start uses to clean up after it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from localk8s.processes import alive

LOCK_DIR = Path(os.environ.get("MLPY_K8S_NODE_LOCK_DIR", "/run/mlpy-localk8s"))


def _record() -> Path:
    return LOCK_DIR / "node.json"


def holder() -> tuple[Path, bool] | None:
    """The cluster folder recorded as holding the node, and whether it is still alive."""
    try:
        data = json.loads(_record().read_text())
    except (OSError, ValueError):
        return None
    state_dir = Path(data["state_dir"])
    pids = [int(data.get("starter", 0))]
    with contextlib.suppress(OSError, ValueError, KeyError):
        pids += [int(p) for p in json.loads((state_dir / "state.json").read_text())["pids"].values()]
    return state_dir, any(p > 0 and alive(p) for p in pids)


@contextlib.contextmanager
def starting() -> Iterator[None]:
    """Serialise node start-ups on this machine (two starts at once would share one bridge)."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_DIR / "start.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def take(state_dir: Path) -> None:
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    _record().write_text(json.dumps({"state_dir": str(state_dir), "starter": os.getpid()}))


def release(state_dir: Path) -> None:
    current = holder()
    if current and current[0] == state_dir:
        _record().unlink(missing_ok=True)
