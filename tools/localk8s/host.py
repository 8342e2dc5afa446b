"""Running host commands, and whether this machine can run a real node (and if not, why not)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from localk8s.errors import ClusterError

CNI_BIN_DIR = Path("/usr/lib/cni")
#: Host programs the real node needs, with the Debian package that brings each.
HOST_COMMANDS = {
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "ip6tables": "iptables",
    "iptables-save": "iptables",
    "ip": "iproute2",
    "conntrack": "conntrack",
    "mount": "mount",
}
CNI_PLUGINS = ("bridge", "host-local", "loopback")
#: Everything ``apt-get install`` needs for a real node and its images (the test setup installs it).
NODE_PACKAGES = (
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "conntrack",
    "iproute2",
    "buildah",
    "mmdebstrap",
)


#: Short homes for what holds unix sockets (their paths are limited to 108 bytes, and a test's
#: temporary folder is longer than that allows): containerd's state, and the kubelet's root.
RUN_ROOT = Path("/run/mlpy-localk8s")
LIB_ROOT = Path("/var/lib/mlpy-localk8s")


def short_dir(base: Path, state_dir: Path) -> Path:
    """``base/<12 hex digits>``: one per cluster folder, the same every time it is asked for."""
    return base / hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]


def run(argv: Sequence[str], check: bool = True, timeout: float = 120.0, input: str | None = None) -> str:
    """Run a host command; a failure raises with the command and its output."""
    done = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, input=input, check=False
    )
    if check and done.returncode != 0:
        raise ClusterError(
            f"`{' '.join(argv)}` failed ({done.returncode}): {(done.stderr or done.stdout).strip()}"
        )
    return done.stdout


def succeeds(argv: Sequence[str], timeout: float = 60.0) -> bool:
    """Whether a host command exits 0 (its output is discarded)."""
    done = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False)
    return done.returncode == 0


def which(command: str) -> str | None:
    return shutil.which(command) or next(
        (str(p) for d in ("/usr/sbin", "/sbin") if (p := Path(d) / command).is_file()), None
    )


def node_blockers() -> list[str]:
    """One line per reason this machine cannot run a real node; empty when it can."""
    if os.geteuid() != 0:
        return ["not root: a real node needs root for containerd, the bridge and iptables (kwok nodes only)"]
    reasons: list[str] = []
    missing = sorted({pkg for cmd, pkg in HOST_COMMANDS.items() if which(cmd) is None})
    missing += (
        ["containernetworking-plugins"] if any(not (CNI_BIN_DIR / p).is_file() for p in CNI_PLUGINS) else []
    )
    if missing:
        reasons.append(f"Debian packages missing: {', '.join(missing)} (apt-get install {' '.join(missing)})")
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        reasons.append("the kernel's br_netfilter is not loaded (modprobe br_netfilter): Services need it")
    if not Path("/sys/fs/cgroup/memory").is_dir() and not Path("/sys/fs/cgroup/cgroup.controllers").exists():
        reasons.append("no memory cgroup controller: pod limits cannot be enforced")
    return reasons
