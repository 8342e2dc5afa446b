"""The Ray backend on a real two-node Ray cluster on this machine, kept to loopback: the job runs on the
cluster as a task, its search's trials on both nodes, and a cluster that cannot be reached is one line
before anything is recorded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpy.cli.main import main
from mlpy.registry import ModelRegistry, read_artifact
from mlpy.store import open_store
from mlpy.training import (
    BackendUnavailableError,
    RunLog,
    TrainingError,
    TrainingSpec,
    connect_ray,
    run_on_ray,
)
from tests.ray_cluster import CONFINEMENT, LOOPBACK, loopback_cluster

pytestmark = pytest.mark.slow
GRID = {"C": [0.01, 0.1, 1.0], "features": ["age", ""]}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """This process connects to it as a user's driver would, through connect_ray."""
    with loopback_cluster() as ray_cluster:
        yield ray_cluster


def job(data: dict[str, str], **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "entryPoint": "credit_training.train:fit",
        "data": data,
        "model": "credit",
        "promote": {"metric": "auc"},
        "search": {"grid": GRID, "metric": "auc"},
    }
    raw.update(overrides)
    return raw


def test_the_job_runs_on_the_cluster_and_its_trials_on_both_nodes(
    cluster: Any, user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    import ray
    from ray._common.usage import usage_lib

    spec = job(credit_files)
    connect_ray(cluster.address, TrainingSpec.from_dict(spec))
    nodes = [n for n in ray.nodes() if n["Alive"]]
    # Confinement, read from Ray's own settings: every node and the GCS on loopback, no usage
    # statistics, no dashboard.
    assert len(nodes) == 2
    assert {n["NodeManagerAddress"] for n in nodes} == {LOOPBACK}
    assert cluster.address.startswith(f"{LOOPBACK}:")
    assert not usage_lib.usage_stats_enabled()
    assert not ray._private.worker.global_worker.node.address_info.get("webui_url")
    store, artifacts = f"sqlite:///{tmp_path / 'store.db'}", str(tmp_path / "artifacts")
    result = run_on_ray(spec, store=store, artifacts=artifacts, timeout=600)

    run = RunLog(open_store(store)).get(result["run"])
    assert (run.backend, run.state, run.result) == ("ray", "succeeded", result)
    trials = result["trials"]
    assert len(trials) == 6
    assert {t["node"] for t in trials} == {n["NodeID"] for n in nodes}
    assert result["search"]["nodes"] == 2
    best = max(trials, key=lambda t: t["metrics"]["auc"])
    assert (result["params"], result["metrics"]) == (best["params"], best["metrics"])
    version = ModelRegistry(store, artifacts).get_version("credit", result["version"])
    assert version.params == best["params"]
    assert version.tags["mlpy.train.trials"] == result["trials_uri"]
    assert json.loads(read_artifact(result["trials_uri"])) == trials
    # The user's package is on no node's path: Ray shipped it in the job's runtime_env.
    assert str(user_code) not in os.environ.get("PYTHONPATH", "")


def test_the_cli_runs_a_job_on_the_cluster_and_a_failing_one_as_one_line(
    cluster: Any,
    user_code: Path,
    credit_files: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = job(credit_files)
    connect_ray(cluster.address, TrainingSpec.from_dict(spec))
    where = ["--store", f"sqlite:///{tmp_path / 's.db'}", "--artifacts", str(tmp_path / "a")]
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in spec.items() if k != "search"}))
    code = main(
        [
            "train",
            "run",
            str(path),
            "--backend",
            "ray",
            "--ray-address",
            cluster.address,
            *where,
            "-o",
            "json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["backend"], shown["state"], shown["result"]["version"]) == ("ray", "succeeded", 1)
    assert err.startswith(f"run {shown['id']}: credit_training.train:fit -> credit (ray)")
    path.write_text(yaml.safe_dump({**spec, "entryPoint": "credit_training.train:raises"}))
    code = main(["train", "run", str(path), "--backend", "ray", "--ray-address", cluster.address, *where])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines()[-1].startswith("error: run ")
    assert "ValueError: the holdout has no positive label" in err.splitlines()[-1]
    failed = RunLog(open_store(where[1])).list()[0]
    assert (failed.backend, failed.state) == ("ray", "failed")


def test_a_job_past_its_timeout_is_cancelled_and_its_run_failed(
    cluster: Any, user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    spec = job(credit_files)
    connect_ray(cluster.address, TrainingSpec.from_dict(spec))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    with pytest.raises(TrainingError, match=r"did not finish on the Ray cluster in 0\.5s"):
        run_on_ray(spec, store=store, artifacts=str(tmp_path / "a"), timeout=0.5)
    (run,) = RunLog(open_store(store)).list()
    assert (run.backend, run.state, run.result) == ("ray", "failed", None)
    assert "did not finish" in (run.error or "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def cli(
    tmp_path: Path, credit_files: dict[str, str], user_code: Path, address: str
) -> subprocess.CompletedProcess[str]:
    """``mlpy train run --backend ray`` in a process of its own (a fresh Ray client, as a user's)."""
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job(credit_files)))
    env = {**os.environ, **CONFINEMENT, "PYTHONPATH": str(user_code), "MLPY_HOME": str(tmp_path / "home")}
    env.pop("RAY_ADDRESS", None)
    command = [sys.executable, "-m", "mlpy.cli.main", "train", "run", str(path), "--backend", "ray"]
    return subprocess.run(
        [*command, "--ray-address", address],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("closed", "error: no Ray cluster answers at 127.0.0.1:"),
        ("silent", "did not answer in 10s"),
        ("ray://127.0.0.1:10001", "error: Ray address 'ray://127.0.0.1:10001' is not HOST:PORT"),
    ],
)
def test_a_cluster_that_cannot_be_reached_is_one_line_before_any_run(
    address: str, message: str, user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    listener = socket.socket()
    if address == "closed":
        address = f"{LOOPBACK}:{free_port()}"
    elif address == "silent":  # accepts connections and never speaks: Ray's init would wait for minutes
        listener.bind((LOOPBACK, 0))
        listener.listen(8)
        address = f"{LOOPBACK}:{listener.getsockname()[1]}"
    with listener:
        done = cli(tmp_path, credit_files, user_code, address)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1, done.stderr
    assert len(errors) == 1
    assert message in errors[0], done.stderr
    assert (
        not (tmp_path / "home" / "mlpy.db").exists()
        or RunLog(open_store(f"sqlite:///{tmp_path / 'home' / 'mlpy.db'}")).list() == []
    )


def test_a_missing_address_or_a_single_module_is_refused(
    credit_files: dict[str, str], tmp_path: Path
) -> None:
    spec = TrainingSpec.from_dict(job(credit_files))
    with pytest.raises(BackendUnavailableError, match="needs the cluster's address"):
        connect_ray(None, spec)
    (tmp_path / "lone_training.py").write_text("def fit(data, params):\n    raise ValueError\n")
    sys.path.insert(0, str(tmp_path))
    try:
        lone = TrainingSpec.from_dict(job(credit_files, entryPoint="lone_training:fit"))
        with pytest.raises(BackendUnavailableError, match="is a single module"):
            connect_ray(f"{LOOPBACK}:{free_port()}", lone)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("lone_training", None)


def test_no_connection_and_ray_imported_too_early_are_refused_not_left_to_chance(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    """Unconnected, Ray would start a cluster of its own; and it reads its loopback switch on import:
    imported earlier, it would take 127.0.0.1 elsewhere."""
    spec_file = tmp_path / "job.json"
    spec_file.write_text(json.dumps(job(credit_files)))
    script = (
        "import json, sys, ray\n"
        "from mlpy.training import BackendUnavailableError, TrainingSpec, connect_ray, run_on_ray\n"
        "raw = json.load(open(sys.argv[1]))\n"
        "spec = TrainingSpec.from_dict(raw)\n"
        "try:\n"
        "    run_on_ray(raw)\n"
        "except BackendUnavailableError as exc:\n"
        "    print(exc)\n"
        "try:\n"
        "    connect_ray(sys.argv[2], spec)\n"
        "except BackendUnavailableError as exc:\n"
        "    print(exc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    env["PYTHONPATH"] = str(user_code)
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(1)
        address = f"{LOOPBACK}:{listener.getsockname()[1]}"
        done = subprocess.run(
            [sys.executable, "-c", script, str(spec_file), address],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    not_connected, imported_before = done.stdout.splitlines()
    assert not_connected.startswith("not connected to a Ray cluster"), done.stderr
    assert imported_before.startswith(f"Ray was imported before connecting to {address}"), done.stderr
