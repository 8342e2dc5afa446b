"""The job queue on a real Redis: submit a training job, let a worker process run it, read the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from mlpy.cli.main import main
from mlpy.registry import ModelRegistry

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_submitted_training_is_run_by_a_worker_and_registered(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    store, artifacts = f"sqlite:///{tmp_path / 'store.db'}", str(tmp_path / "artifacts")
    monkeypatch.setenv("MLPY_STORE", store)
    monkeypatch.setenv("MLPY_ARTIFACTS", artifacts)
    monkeypatch.setenv("MLPY_REDIS_URL", redis_url)
    monkeypatch.setenv("MLPY_WORKER_QUEUE", f"test-{uuid.uuid4().hex[:8]}")

    assert main(["worker", "submit", "train", "-m", "fraud", "--rows", "400", "-o", "json"]) == 0
    queued = json.loads(capsys.readouterr().out)
    assert queued["status"] == "queued"

    done = subprocess.run(
        [str(Path(sys.executable).with_name("mlpy")), "worker", "run", "--burst"],
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr

    assert main(["worker", "status", queued["id"], "-o", "json"]) == 0
    finished = json.loads(capsys.readouterr().out)
    assert finished["status"] == "finished"
    assert finished["result"]["model"] == "fraud"
    version = ModelRegistry(store, artifacts).get_version("fraud", "@production")
    assert version.version == finished["result"]["version"]
    assert version.tags["drift_reference"] == finished["result"]["reference"]


def test_bootstrap_trains_only_a_model_without_production(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPY_STORE", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("MLPY_ARTIFACTS", str(tmp_path / "artifacts"))
    queue = f"test-{uuid.uuid4().hex[:8]}"
    # A process of its own: RQ forks a work horse per job, which a threaded test process must not do.
    argv = [str(Path(sys.executable).with_name("mlpy")), "worker", "run", "--burst", "--redis", redis_url,
            "--queue", queue, "--bootstrap", "boot"]  # fmt: skip

    def run() -> str:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=240, env=dict(os.environ))
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "bootstrap: training boot" in run()
    assert ModelRegistry().get_version("boot", "@production").version == 1
    assert "bootstrap" not in run()  # production exists now: nothing queued


def test_unknown_job_is_one_line(redis_url: str, capsys: Any) -> None:
    assert main(["worker", "status", "no-such-job", "--redis", redis_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no job 'no-such-job'")
