"""What a stopped node must leave behind: nothing. Finding and removing its mounts, cgroups and
iptables chains, and a snapshot of the host to prove that a start and a stop changed nothing."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from localk8s.host import run, succeeds, which

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The cgroup subtree the kubelet creates (cgroupfs driver) in every hierarchy.
KUBEPODS = "kubepods"
IPTABLES = ("iptables", "ip6tables")
TABLES = ("filter", "nat", "mangle", "raw")
#: Processes of a node, by program name (containerd's shims run pods' containers).
NODE_PROGRAMS = (
    "containerd",
    "containerd-shim-runc-v2",
    "kubelet",
    "kube-proxy",
    "coredns",
    "pause",
    "postgres",
    "redis-server",
)


def mountpoints() -> list[str]:
    """Every mount point of this mount namespace, decoded (``\\040`` is a space)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        points.append(re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), point))
    return points


def unmount_under(roots: list[Path]) -> list[str]:
    """Unmount everything mounted at or below ``roots`` (deepest first); what was unmounted."""
    prefixes = [str(r.resolve()).rstrip("/") for r in roots if r.exists()]
    inside = [m for m in mountpoints() if any(m == p or m.startswith(p + "/") for p in prefixes)]
    done = []
    for point in sorted(set(inside), key=len, reverse=True):
        if not succeeds(["umount", point]):
            succeeds(["umount", "-l", point])  # busy: detach now, the kernel frees it when idle
        done.append(point)
    return done


def remove_kubepods_cgroups() -> None:
    """Remove the kubelet's cgroup trees, deepest first (rmdir works once no process is inside)."""
    for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
        top = hierarchy / KUBEPODS
        if not top.is_dir():
            continue
        for path in sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with contextlib.suppress(OSError):
                path.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def kill_kubepods_processes() -> None:
    """SIGKILL whatever still runs in a pod cgroup (containers whose shim is already gone)."""
    for procs_file in CGROUP_ROOT.glob(f"*/{KUBEPODS}/**/cgroup.procs"):
        with contextlib.suppress(OSError):
            for pid in procs_file.read_text().split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), 9)


def _saved_tables() -> Iterator[tuple[str, list[str]]]:
    """``binary/table`` and its ``iptables-save`` lines, for every table of both families here."""
    for binary in IPTABLES:
        if which(f"{binary}-save") is None:
            continue
        for table in TABLES:
            yield f"{binary}/{table}", run([f"{binary}-save", "-t", table], check=False).splitlines()


def chains() -> dict[str, set[str]]:
    """``binary/table`` -> its user-defined chains (built-in ones show a policy, these ``-``)."""
    return {
        where: {ln[1:].split()[0] for ln in lines if ln.startswith(":")} for where, lines in _saved_tables()
    }


_COUNTERS = re.compile(r"^\[\d+:\d+\]\s*|\s*\[\d+:\d+\]$")


def builtin_rules() -> list[str]:
    """``binary/table: line`` for the policy and every rule of each built-in chain (INPUT, FORWARD,
    POSTROUTING, ...), counters stripped: a rule a node leaves there (an ACCEPT, a MASQUERADE, a jump
    to a chain that was already there) shows, which the chain names alone would not."""
    found = []
    for where, lines in _saved_tables():
        builtin = {ln[1:].split()[0] for ln in lines if ln.startswith(":") and ln.split()[1] != "-"}
        for line in lines:
            parts = line.split()
            if (line.startswith(":") and parts[0][1:] in builtin) or (
                line.startswith("-A ") and parts[1] in builtin
            ):
                found.append(f"{where}: {_COUNTERS.sub('', line)}")
    return found


def remove_new_chains(before: dict[str, set[str]]) -> list[str]:
    """Delete every chain that was not there before the node started, and the jumps to it."""
    removed = []
    for where, now in chains().items():
        binary, table = where.split("/")
        new = now - before.get(where, set())
        if not new:
            continue
        rules = run([f"{binary}-save", "-t", table], check=False).splitlines()
        for rule in rules:
            parts = shlex.split(rule)  # comments are quoted: ``--comment "kubernetes service portals"``
            if rule.startswith("-A ") and "-j" in parts and parts[1] not in new:
                target = parts[parts.index("-j") + 1]
                if target in new:
                    succeeds([binary, "-t", table, "-D", *parts[1:]])
        for chain in new:
            succeeds([binary, "-t", table, "-F", chain])
        for chain in new:
            if succeeds([binary, "-t", table, "-X", chain]):
                removed.append(f"{where}:{chain}")
    return removed


def node_processes() -> list[str]:
    """``pid name`` of every running node program, whoever started it (zombies are not running)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            text = stat.read_text()
            name, state = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()[0]
            if state != "Z" and (name in NODE_PROGRAMS or name.startswith("containerd-shim")):
                found.append(f"{stat.parent.name} {name}")
    return found


@dataclass(frozen=True)
class HostSnapshot:
    """What a node changes on the host, read before a start and after a stop to compare."""

    processes: tuple[str, ...]
    mounts: tuple[str, ...]
    chains: tuple[str, ...]
    rules: tuple[str, ...]
    links: tuple[str, ...]
    sysctls: tuple[tuple[str, str], ...]
    cgroups: tuple[str, ...]

    @classmethod
    def take(cls, sysctl_keys: list[str]) -> HostSnapshot:
        from localk8s.network import read_sysctl

        return cls(
            processes=tuple(sorted(p.split()[1] for p in node_processes())),
            mounts=tuple(sorted(mountpoints())),
            chains=tuple(sorted(f"{w}:{c}" for w, cs in chains().items() for c in cs)),
            rules=tuple(sorted(builtin_rules())),
            links=tuple(sorted(p.name for p in Path("/sys/class/net").iterdir())),
            sysctls=tuple((k, read_sysctl(k) or "") for k in sysctl_keys),
            cgroups=tuple(sorted(str(p) for p in CGROUP_ROOT.glob(f"*/{KUBEPODS}"))),
        )

    def differences(self, later: HostSnapshot) -> list[str]:
        """One line per thing that is not as it was."""
        lines = []
        for name in ("processes", "mounts", "chains", "rules", "links", "cgroups"):
            # Counted, not just named: the host may run its own PostgreSQL beside the node's.
            was, now = Counter(getattr(self, name)), Counter(getattr(later, name))
            lines += [f"{name}: left behind {item}" for item in sorted((now - was).elements())]
            lines += [f"{name}: gone {item}" for item in sorted((was - now).elements())]
        lines += [
            f"sysctl {k}: was {v}, now {dict(later.sysctls).get(k)}"
            for k, v in self.sysctls
            if dict(later.sysctls).get(k) != v
        ]
        return lines


def kill_shims(socket: Path) -> None:
    """SIGKILL containerd shims of this node (they outlive containerd, started with its socket)."""
    needle = str(socket).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError, ProcessLookupError, PermissionError, ValueError):
            if needle in cmdline.read_bytes() and cmdline.parent.name != str(os.getpid()):
                os.kill(int(cmdline.parent.name), 9)
