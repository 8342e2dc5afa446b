"""``mlpy train run --backend kubernetes``: what is refused with one line before anything is recorded
or sent to a cluster (the runs themselves: tests/e2e/node/test_training_job.py, on a real node)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from mlpy.cli.main import main
from mlpy.cli.train_kubernetes import pod_locations
from mlpy.config import Locations
from mlpy.training import TrainingError
from tests.unit.training.test_train_cli import run, write_spec

S3_DATA = {"train": "s3://data/credit/train.parquet", "holdout": "s3://data/credit/holdout.parquet"}


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dead_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig naming an API server on a loopback port that refuses connections."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{closed_port()}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "ml"}}],
                "current-context": "x",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    from mlpy_operator import kube_client

    kube_client.cache_clear()  # the client is made once per process; this test's kubeconfig, not another's
    return kubeconfig


def k8s_run(capsys: pytest.CaptureFixture[str], spec: str, *args: str) -> tuple[int, str, str]:
    return run(capsys, "train", "run", spec, "--backend", "kubernetes", *args)


def test_a_spec_that_does_not_parse_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "job.yaml"
    bad.write_text("entryPoint: [unclosed\n")
    code, _, err = k8s_run(capsys, str(bad))
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {bad} is not YAML")


def test_data_neither_csv_nor_parquet_is_refused_and_nothing_recorded(
    tmp_path: Path, dead_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ["--store", f"sqlite:///{tmp_path / 's.db'}"]
    spec = write_spec(tmp_path, {**S3_DATA, "holdout": "s3://data/credit/holdout.json"})
    code, _, err = k8s_run(capsys, spec, *store)
    assert code == 1
    assert err.strip() == (
        "error: data 's3://data/credit/holdout.json' is neither CSV nor Parquet "
        "(name a .csv, .parquet or .pq file)"
    )
    assert main(["train", "list", *store, "--output", "json"]) == 0
    assert '"items": []' in capsys.readouterr().out


def test_an_unreachable_api_server_is_one_line(
    tmp_path: Path, dead_cluster: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A PostgreSQL URL is only parsed before the cluster is asked: nothing connects to it.
    monkeypatch.setenv("MLPY_STORE", "postgresql://mlpy@127.0.0.1:1/mlpy")
    monkeypatch.setenv("MLPY_ARTIFACTS", "s3://mlpy/models")
    code, _, err = k8s_run(capsys, write_spec(tmp_path, S3_DATA))
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: cannot reach the Kubernetes API server: ")
    assert err.rstrip().endswith("(check KUBECONFIG and that the cluster is up (kubectl version))")


def test_stores_a_pod_cannot_reach_are_refused(
    tmp_path: Path, dead_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, S3_DATA)
    code, _, err = k8s_run(capsys, spec, "--store", f"sqlite:///{tmp_path / 's.db'}")
    assert code == 1
    assert "is a SQLite file a pod cannot reach" in err
    pg = "postgresql://mlpy@db.example:5432/mlpy"
    code, _, err = k8s_run(capsys, spec, "--store", pg, "--artifacts", str(tmp_path / "artifacts"))
    assert code == 1
    assert "is a local folder a pod cannot reach (use an s3:// root" in err


def test_the_pod_gets_the_stores_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLPY_S3_ENDPOINT_URL", raising=False)
    url = "postgresql+psycopg://mlpy:s3cret@db.example:5432/mlpy"
    with pytest.raises(TrainingError, match="holds a password, which would be written into the Job"):
        pod_locations(Locations(url, "s3://mlpy/models"), None)
    env = pod_locations(Locations(url, "s3://mlpy/models"), "mlpy-stores")
    assert env == {
        "MLPY_STORE": "postgresql+psycopg://mlpy@db.example:5432/mlpy",
        "MLPY_ARTIFACTS": "s3://mlpy/models",
    }
    monkeypatch.setenv("MLPY_S3_ENDPOINT_URL", "http://minio.example:9000")
    env = pod_locations(Locations("postgresql://mlpy@db.example/mlpy", "s3://mlpy/models"), None)
    assert env["MLPY_S3_ENDPOINT_URL"] == "http://minio.example:9000"


def recorded_run(tmp_path: Path, credit_files: dict[str, str]) -> tuple[list[str], str]:
    """A run recorded as ``mlpy train run --backend kubernetes`` records it, before its pod starts."""
    from mlpy.store import open_store
    from mlpy.training import RunLog, TrainingSpec

    store = f"sqlite:///{tmp_path / 's.db'}"
    spec = TrainingSpec.load(write_spec(tmp_path, credit_files))
    run_id = RunLog(open_store(store)).create(spec.to_dict(), spec.model, "kubernetes").id
    return ["--store", store, "--artifacts", str(tmp_path / "artifacts")], run_id


def test_execute_runs_a_recorded_run_once(
    user_code: Path,
    credit_files: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("MLPY_POD_NAME", "MLPY_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)  # not in a pod: no image digest to read
    where, run_id = recorded_run(tmp_path, credit_files)
    code, out, err = run(capsys, "train", "execute", "--run-id", run_id, *where, "--output", "json")
    assert code == 0, err
    done = yaml.safe_load(out)
    assert (done["state"], done["backend"], done["result"]["version"]) == ("succeeded", "kubernetes", 1)
    code, _, err = run(capsys, "train", "execute", "--run-id", run_id, *where)
    assert code == 1
    assert err.strip() == f"error: run {run_id} is succeeded: a run executes once (start a new run)"


def test_execute_in_a_pod_that_cannot_read_its_digest_fails_the_run(
    user_code: Path,
    credit_files: dict[str, str],
    tmp_path: Path,
    dead_cluster: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLPY_POD_NAME", "train-x-abcde")
    monkeypatch.setenv("MLPY_NAMESPACE", "ml")
    where, run_id = recorded_run(tmp_path, credit_files)
    code, _, err = run(capsys, "train", "execute", "--run-id", run_id, *where)
    assert code == 1
    assert err.startswith("error: cannot read this pod's image digest: ")
    assert "(run the Job as a ServiceAccount that may get pods (the chart's mlpy-training))" in err
    code, out, _ = run(capsys, "train", "status", run_id, "--store", where[1], "--output", "json")
    shown = yaml.safe_load(out)
    assert shown["state"] == "failed"
    assert shown["error"].startswith("cannot read this pod's image digest")
    assert shown["result"] is None  # nothing trained, nothing registered
