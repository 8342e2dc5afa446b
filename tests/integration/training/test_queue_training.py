"""The Redis queue runs the user's training code: Parquet data in S3, the registry on PostgreSQL and S3,
a real RQ worker process, and the promotion gate refusing a worse model and promoting a better one."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpy.cli.main import main
from mlpy.demo.data import credit_data
from mlpy.registry import ModelRegistry

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FIXTURE_SRC = Path(__file__).resolve().parents[2] / "fixtures" / "trainpkg" / "src"


def upload(bucket: str, endpoint: str) -> dict[str, tuple[str, str]]:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    uploaded = {}
    for name, seed in (("train", 1), ("holdout", 2)):
        buffer = io.BytesIO()
        credit_data(1_500, seed=seed).to_parquet(buffer)
        body = buffer.getvalue()
        client.put_object(Bucket=bucket, Key=f"data/{name}.parquet", Body=body)
        uploaded[name] = (f"s3://{bucket}/data/{name}.parquet", hashlib.sha256(body).hexdigest())
    return uploaded


def test_queued_jobs_train_register_with_lineage_and_respect_the_gate(
    postgres_url: str,
    redis_url: str,
    s3_bucket: str,
    s3_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    artifacts = f"s3://{s3_bucket}/models"
    monkeypatch.setenv("MLPY_STORE", postgres_url)
    monkeypatch.setenv("MLPY_ARTIFACTS", artifacts)
    monkeypatch.setenv("MLPY_REDIS_URL", redis_url)
    monkeypatch.setenv("MLPY_WORKER_QUEUE", f"train-{uuid.uuid4().hex[:8]}")
    # The worker imports the team's code as any Python process would: installed, or on PYTHONPATH.
    monkeypatch.setenv("PYTHONPATH", str(FIXTURE_SRC))
    monkeypatch.syspath_prepend(str(FIXTURE_SRC))
    data = upload(s3_bucket, s3_endpoint)
    runs = []
    for features in ("age", "", "age"):  # worse, better, worse again
        spec = tmp_path / f"job-{len(runs)}.yaml"
        spec.write_text(
            yaml.safe_dump(
                {
                    "entryPoint": "credit_training.train:fit",
                    "data": {name: uri for name, (uri, _) in data.items()},
                    "params": {"C": 0.5, "features": features},
                    "model": "credit",
                    "promote": {"alias": "production", "metric": "auc", "atLeast": "current"},
                }
            )
        )
        assert main(["train", "run", str(spec), "--backend", "queue", "--no-wait", "-o", "json"]) == 0
        queued = json.loads(capsys.readouterr().out)
        assert (queued["state"], queued["backend"]) == ("queued", "queue")
        runs.append(queued["id"])
    worker = subprocess.run(
        [str(Path(sys.executable).with_name("mlpy")), "worker", "run", "--burst"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert worker.returncode == 0, worker.stderr
    results = []
    for run_id in runs:
        assert main(["train", "status", run_id, "-o", "json"]) == 0
        finished = json.loads(capsys.readouterr().out)
        assert finished["state"] == "succeeded", finished
        results.append(finished["result"])
    assert [(r["version"], r["promoted"]) for r in results] == [(1, True), (2, True), (3, False)]
    assert "is not at least credit:2's" in results[2]["gate"]["reason"]
    registry = ModelRegistry(postgres_url, artifacts)
    assert registry.get_version("credit", "@production").version == 2
    version = registry.get_version("credit", 2)
    assert version.parent == "credit:1"
    assert version.artifact_uri.startswith(artifacts)
    for name, (uri, digest) in data.items():
        assert version.tags[f"mlpy.train.data.{name}"] == uri
        assert version.tags[f"mlpy.train.data.{name}.sha256"] == digest
    assert version.tags["drift_reference"].startswith(artifacts)


def test_a_run_whose_job_the_queue_gave_up_on_reads_as_failed(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from redis import Redis
    from rq.job import Job

    monkeypatch.setenv("MLPY_STORE", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("MLPY_REDIS_URL", redis_url)
    monkeypatch.setenv("MLPY_WORKER_QUEUE", f"train-{uuid.uuid4().hex[:8]}")
    monkeypatch.syspath_prepend(str(FIXTURE_SRC))
    data = tmp_path / "train.csv"
    credit_data(300, seed=1).to_csv(data, index=False)
    spec = tmp_path / "job.yaml"
    spec.write_text(
        yaml.safe_dump({"entryPoint": "credit_training.train:fit", "data": str(data), "model": "c"})
    )
    assert main(["train", "run", str(spec), "--backend", "queue", "--no-wait", "-o", "json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["id"]
    Job.fetch(run_id, connection=Redis.from_url(redis_url)).cancel()
    assert main(["train", "status", run_id]) == 1
    assert "the queue reports the job canceled" in capsys.readouterr().err
