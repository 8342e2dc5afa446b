"""Child processes of the cluster: started with their logs, checked, and stopped in stages."""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from localk8s.errors import ClusterError

LOOPBACK = "127.0.0.1"


def die_with_parent() -> None:
    """Run in the child before exec: the kernel kills it when the test process dies, even by SIGKILL."""
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def terminate_groups(pids: Sequence[int], grace: float = 10.0) -> None:
    """SIGTERM each process group, give them ``grace`` seconds, then SIGKILL what is left."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        for pid in pids:  # reap our own children so they do not linger as zombies
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


# Ports are chosen below the kernel's ephemeral range (and below Kubernetes' NodePort range), so an
# outgoing connection made by any process between choosing a port and listening on it can never
# take it: binding to port 0 hands out exactly the ports outgoing connections use, which made a
# listener lose its port now and then on a busy machine.
LISTEN_PORTS = range(20000, 30000)


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct ports free on ``host``, outside the ephemeral range."""
    chosen: list[socket.socket] = []
    try:
        for port in random.sample(LISTEN_PORTS, len(LISTEN_PORTS)):
            if len(chosen) == count:
                break
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((host, port))
            except OSError:
                sock.close()
                continue
            chosen.append(sock)
        if len(chosen) < count:
            raise ClusterError(f"fewer than {count} free ports on {host} in {LISTEN_PORTS}")
        return [int(s.getsockname()[1]) for s in chosen]
    finally:
        for s in chosen:
            s.close()


def free_port(host: str = LOOPBACK) -> int:
    """One port free on ``host`` (see ``free_ports``)."""
    return free_ports(1, host)[0]


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for(what: str, check: Callable[[], bool], timeout: float, logs: Iterable[Path] = ()) -> None:
    """Poll ``check`` until true; on timeout raise with the tails of the relevant logs."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError, KeyError, urllib.error.URLError) as exc:
            last = exc
        time.sleep(0.2)
    detail = "".join(f"\n--- {p.name} (tail) ---\n{tail(p)}" for p in logs)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last}){detail}")


@dataclass
class Processes:
    """The cluster's processes by component name, each logging to ``logs/<name>.log``.

    ``die_with_parent`` ties them to this Python process (the pytest fixture); ``cluster.sh start``
    leaves it off so the cluster outlives the command.
    """

    log_dir: Path
    die_with_parent: bool = True
    pids: dict[str, int] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log(name), "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                preexec_fn=die_with_parent if self.die_with_parent else None,
                start_new_session=not self.die_with_parent,
                env=env,
            )
        self._procs.append(proc)
        self.pids[name] = proc.pid

    def check_alive(self) -> None:
        for name, pid in self.pids.items():
            if not alive(pid):
                raise ClusterError(f"{name} exited\n--- {name}.log (tail) ---\n{tail(self.log(name))}")

    def stop(self, stages: Sequence[Sequence[str]]) -> None:
        """Stop stage by stage (names not running are ignored), then anything left; safe twice."""
        stop_pids(self.pids, [*stages, list(self.pids)])
        for proc in self._procs:
            proc.poll()
        self.pids.clear()
        self._procs.clear()


def stop_pids(pids: dict[str, int], stages: Sequence[Sequence[str]]) -> None:
    """Stop the named processes stage by stage (a cluster stopped from another process knows only
    their pids); names not in ``pids`` are ignored."""
    for stage in stages:
        terminate_groups([pids[n] for n in stage if n in pids])
