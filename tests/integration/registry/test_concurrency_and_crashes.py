"""Several OS processes registering at once, and a process killed in the middle of a registration."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlpy.registry import ModelRegistry
from mlpy.registry.tables import PendingArtifact

pytestmark = pytest.mark.integration

WORKERS = 4
EACH = 5

# Each worker is a separate interpreter; once all are ready they wait for the same start signal (a
# file) to collide. The model is as small as a model can be (a pickled constant): the race is about
# version numbers and the journal, and sparing each worker scikit-learn's import keeps it short.
WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mlpy.registry import ModelRegistry

    class Constant:
        def __init__(self, value):
            self.value = value

        def predict(self, rows):
            return [self.value for _ in rows]

    store, artifacts, worker, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    model = Constant(float(worker))
    registry = ModelRegistry(store, artifacts) if sys.argv[5] == "early" else None
    (go.parent / f"ready-{worker}").touch()
    while not go.exists():
        time.sleep(0.005)
    registry = registry or ModelRegistry(store, artifacts)
    for i in range(int(sys.argv[6])):
        registry.register("shared", model, format="pickle", tags={"worker": str(worker), "i": str(i)})
    """
)


def _race(store_url: str, artifacts: str, tmp_path: Path, workers: int, open_early: bool) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                store_url,
                artifacts,
                str(w),
                str(go),
                "early" if open_early else "late",
                str(EACH),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{w}").exists() for w in range(workers)):
        assert time.monotonic() < deadline, "the workers did not get ready"
        exited = [proc for proc in procs if proc.poll() is not None]
        assert not exited, [proc.communicate()[1] for proc in exited]
        time.sleep(0.01)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err


def test_concurrent_registration_gets_distinct_versions(store_url: str, tmp_path: Path) -> None:
    artifacts = str(tmp_path / "artifacts")
    _race(store_url, artifacts, tmp_path, WORKERS, open_early=True)
    versions = ModelRegistry(store_url, artifacts).search_versions("shared", page_size=1000).items
    assert sorted(v.version for v in versions) == list(range(1, WORKERS * EACH + 1))
    pairs = {(v.tags["worker"], v.tags["i"]) for v in versions}
    assert len(pairs) == WORKERS * EACH  # no write lost, none duplicated
    assert len({v.artifact_uri for v in versions}) == WORKERS * EACH


def test_concurrent_first_use_migrates_once(store_url: str, tmp_path: Path) -> None:
    artifacts = str(tmp_path / "artifacts")
    _race(store_url, artifacts, tmp_path, 3, open_early=False)
    assert ModelRegistry(store_url, artifacts).search_versions("shared").total == 3 * EACH


CRASH = textwrap.dedent(
    """
    import os, sys
    from mlpy.registry import ModelRegistry
    from mlpy.registry.artifacts import ArtifactStore

    class Constant:  # as small as a model can be: the crash is about the journal, not the model
        def predict(self, rows):
            return [0.0 for _ in rows]

    original = ArtifactStore.write

    def write_then_die(self, uri, data):
        original(self, uri, data)
        print(uri, flush=True)
        os._exit(9)  # like SIGKILL or a power cut: no cleanup handler runs

    ArtifactStore.write = write_then_die
    registry = ModelRegistry(sys.argv[1], sys.argv[2])
    registry.register("crashy", Constant(), format="pickle")
    """
)


def test_crash_midway_leaves_no_version_and_no_orphan(store_url: str, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    registry = ModelRegistry(store_url, str(artifacts))
    result = subprocess.run(
        [sys.executable, "-c", CRASH, store_url, str(artifacts)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 9, result.stderr
    orphan = Path(result.stdout.strip())
    assert orphan.exists()  # the crash really happened after the artifact was written
    assert registry.search_versions().total == 0
    with registry.store.session() as session:
        assert session.query(PendingArtifact).count() == 1
    # The next registration (as README says; `mlpy registry gc` too) finds the dead process's journal
    # entry and removes its artifact.
    assert registry.register("crashy", _model()).version == 1
    assert not orphan.exists()
    with registry.store.session() as session:
        assert session.query(PendingArtifact).count() == 0
    assert [p for p in artifacts.rglob("*") if p.is_file()] == [
        Path(registry.get_version("crashy", 1).artifact_uri)
    ]


def test_failed_write_cleans_up_in_process(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlpy.registry.artifacts import ArtifactStore

    registry = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    original = ArtifactStore.write

    def write_then_fail(self: ArtifactStore, uri: str, data: bytes) -> None:
        original(self, uri, data)
        raise OSError("disk full")

    monkeypatch.setattr(ArtifactStore, "write", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        registry.register("m", _model())
    assert registry.search_versions().total == 0
    assert not [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]


def _model() -> object:
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
