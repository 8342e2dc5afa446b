"""Many real processes appending to one log at once: the chain they leave must have no gap and no fork."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

from mlpy.audit import AuditLog

WRITER = """
import os, sys, time
from mlpy.audit import AuditLog
url, go, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
log = AuditLog(url)  # migrated and connected before the start signal
while not os.path.exists(go):
    time.sleep(0.005)
for number in range(count):
    log.append("test.write", f"writer/{name}", actor=name, to_value=number, detail={"n": number})
    time.sleep(0.002)  # other work between appends, as a real writer has: SQLite's lock changes hands
"""


def run_writers(url: str, folder: Path, *, writers: int, each: int) -> None:
    """Start ``writers`` processes, release them together, and check what they wrote."""
    AuditLog(url)  # migrate once, so the writers race on appends, not on the schema
    go = folder / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(go), f"w{index}", str(each)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(writers)
    ]
    time.sleep(1.0)  # let every writer import and connect
    go.touch()
    for process in processes:
        _, errors = process.communicate(timeout=240)
        assert process.returncode == 0, errors
    log = AuditLog(url)
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, writers * each + 1))
    assert Counter(e.actor for e in entries) == {f"w{index}": each for index in range(writers)}
    # Each writer's own entries are in its order: the log interleaves them, it never reorders one.
    for index in range(writers):
        mine = [e.to_value for e in entries if e.actor == f"w{index}"]
        assert mine == [str(n) for n in range(each)]
    interleaved = sum(1 for a, b in pairwise(entries) if a.actor != b.actor)
    assert interleaved > writers, "the writers did not overlap, so the test proved nothing"
    result = log.verify()
    assert result.ok, result.problem
    assert result.entries == writers * each
