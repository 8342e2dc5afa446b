"""A training job on a two-node Ray cluster with the stores a cluster across machines would use:
Parquet data and the artifacts in S3, the run and the registry on PostgreSQL. The CLI submits it, its
trials run on both nodes, and every trial is kept with the version in S3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpy.cli.main import main
from mlpy.registry import ModelRegistry, read_artifact
from mlpy.store import open_store
from mlpy.training import RunLog
from tests.integration.training.test_queue_training import FIXTURE_SRC, upload
from tests.ray_cluster import loopback_cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]
GRID = {"C": [0.05, 1.0], "features": ["age", ""]}


def test_a_ray_job_reads_s3_and_is_recorded_on_postgresql(
    s3_endpoint: str, s3_bucket: str, postgres_url: str, tmp_path: Path, capsys: Any
) -> None:
    artifacts = f"s3://{s3_bucket}/models"
    data = upload(s3_bucket, s3_endpoint)
    base = {"entryPoint": "credit_training.train:fit", "model": "credit", "promote": {"metric": "auc"}}
    base["data"] = {name: uri for name, (uri, _) in data.items()}
    worse = {**base, "params": {"features": "age"}}
    searched = {**base, "search": {"grid": GRID, "metric": "auc"}}
    # The CLI's environment; the nodes inherit the credentials (a cluster's machines have their own),
    # and only this process has the user's code on its path: Ray ships it to the nodes.
    with pytest.MonkeyPatch.context() as env, loopback_cluster() as cluster:
        for key, value in {"MLPY_STORE": postgres_url, "MLPY_ARTIFACTS": artifacts}.items():
            env.setenv(key, value)
        env.syspath_prepend(str(FIXTURE_SRC))
        gates = []
        for number, job in enumerate((worse, searched, worse)):
            path = tmp_path / f"job-{number}.yaml"
            path.write_text(yaml.safe_dump(job))
            command = ["train", "run", str(path), "--backend", "ray", "--ray-address", cluster.address]
            code = main([*command, "--output", "json"])
            out, err = capsys.readouterr()
            assert code == 0, err
            gates.append(json.loads(out))
        import ray  # after the cluster, as a user's driver: see tests/ray_cluster.py

        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    # The gate opens on an empty alias, promotes the better search, refuses the worse model after it.
    assert [g["result"]["promoted"] for g in gates] == [True, True, False]
    assert "is not at least credit:2's" in gates[2]["result"]["gate"]["reason"]
    shown = gates[1]
    result = shown["result"]
    assert (shown["backend"], shown["state"], result["promoted"]) == ("ray", "succeeded", True)
    assert len(nodes) == 2
    assert {t["node"] for t in result["trials"]} == nodes
    run = RunLog(open_store(postgres_url)).get(shown["id"])
    assert (run.backend, run.state, run.result) == ("ray", "succeeded", result)
    version = ModelRegistry(postgres_url, artifacts).get_version("credit", "@production")
    assert version.version == result["version"]
    for name, (uri, sha256) in data.items():
        assert version.tags[f"mlpy.train.data.{name}"] == uri
        assert version.tags[f"mlpy.train.data.{name}.sha256"] == sha256
    assert version.tags["mlpy.train.trials"].startswith(f"{artifacts}/credit-trials/")
    assert json.loads(read_artifact(version.tags["mlpy.train.trials"])) == result["trials"]
