"""A training job with the user's own code: lineage, the promotion gate, a search, and every bad input
refused with one line before anything is registered."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlpy.drift import DriftProfile
from mlpy.registry import DRIFT_REFERENCE_TAG, ModelNotFoundError, ModelRegistry, read_artifact
from mlpy.store import open_store
from mlpy.training import (
    EntryPointError,
    InvalidTrainingSpecError,
    RunLog,
    TrainingDataError,
    TrainingResultError,
    TrainingSpec,
    preflight,
    run_job,
)


def spec(data: dict[str, str], **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "entryPoint": "credit_training.train:fit",
        "data": data,
        "params": {"C": 0.5},
        "model": "credit",
        "promote": {"alias": "production", "metric": "auc", "atLeast": "current"},
    }
    raw.update(overrides)
    return raw


def locations(tmp_path: Path) -> dict[str, str]:
    return {"store": f"sqlite:///{tmp_path / 'store.db'}", "artifacts": str(tmp_path / "artifacts")}


def test_a_job_registers_with_full_lineage_and_opens_an_empty_gate(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    where = locations(tmp_path)
    result = run_job(spec(credit_files), **where)
    registry = ModelRegistry(where["store"], where["artifacts"])
    version = registry.get_version("credit", "@production")
    assert (version.version, result["version"], result["promoted"]) == (1, 1, True)
    assert "holds no version yet" in result["gate"]["reason"]
    tags = version.tags
    for name, path in credit_files.items():
        assert tags[f"mlpy.train.data.{name}"] == path
        assert tags[f"mlpy.train.data.{name}.sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert tags["mlpy.train.entry_point"] == "credit_training.train:fit"
    assert tags["mlpy.train.run"] == result["run"]
    head = subprocess.run(["git", "-C", str(user_code), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # the checkout is a git work tree (CI's clean clone is)
        assert tags["mlpy.train.code.git_commit"].removesuffix("-dirty") == head.stdout.strip()
    assert version.params == {"C": 0.5}
    assert set(version.metrics) == {"auc", "accuracy"}
    profile = DriftProfile.load(tags[DRIFT_REFERENCE_TAG])
    assert list(profile.columns) == ["age", "income", "debt_ratio", "credit_lines", "late_payments"]
    assert profile.rows == 1_500
    assert profile.source == credit_files["train"]
    # Without validation data, the signature keeps 200 rows of the training frame as its sample.
    assert version.signature is not None
    assert (len(version.signature["example"]), len(version.signature["sample"])) == (20, 200)
    training = pd.read_parquet(credit_files["train"])[list(profile.columns)].to_numpy().tolist()
    assert all(row in training for row in version.signature["sample"])
    run = RunLog(open_store(where["store"])).get(result["run"])
    assert run.state == "succeeded"
    assert run.result == result
    assert run.backend == "local"


def test_a_function_that_returns_its_holdout_gives_the_version_its_importance(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    where = locations(tmp_path)
    result = run_job(spec(credit_files, entryPoint="credit_training.train:fit_with_importance"), **where)
    importance = (
        ModelRegistry(where["store"], where["artifacts"]).get_version("credit", result["version"]).importance
    )
    assert importance is not None
    assert set(importance) == {"age", "income", "debt_ratio", "credit_lines", "late_payments"}
    assert max(importance, key=lambda name: importance[name]["mean"]) in {
        "income",
        "debt_ratio",
        "late_payments",
    }


def test_the_gate_refuses_a_worse_model_and_promotes_a_better_one(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    where = locations(tmp_path)
    first = run_job(spec(credit_files, params={"C": 0.5, "features": "age"}), **where)
    assert first["promoted"]
    better = run_job(spec(credit_files), **where)
    assert better["promoted"]
    assert better["parent"] == 1
    assert f"at least credit:1's {first['metrics']['auc']:.6g}" in better["gate"]["reason"]
    worse = run_job(spec(credit_files, params={"C": 0.5, "features": "age"}), **where)
    assert not worse["promoted"]
    assert worse["version"] == 3
    assert worse["parent"] == 2
    assert "is not at least credit:2's" in worse["gate"]["reason"]
    registry = ModelRegistry(where["store"], where["artifacts"])
    assert registry.get_version("credit", "@production").version == 2
    # The move records the run and the gate's reason.
    (last,) = [c for c in registry.history("credit") if c.to_version == 2]
    assert last.reason is not None
    assert better["run"] in last.reason
    assert "at least" in last.reason
    # A fixed bar, lower-is-better metrics.
    fixed = run_job(spec(credit_files, promote={"metric": "auc", "atLeast": 0.99}), **where)
    assert not fixed["promoted"]
    assert "not at least the bar 0.99" in fixed["gate"]["reason"]


def test_a_search_registers_the_best_trial_and_keeps_every_trial(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    where = locations(tmp_path)
    raw = spec(
        credit_files, search={"grid": {"features": ["age", "income", ""], "C": [0.1, 1.0]}, "metric": "auc"}
    )
    result = run_job(raw, **where)
    trials = result["trials"]
    assert len(trials) == 6
    assert result["search"]["trials"] == 6
    best = max(trials, key=lambda t: t["metrics"]["auc"])
    assert result["search"]["best_trial"] == best["trial"]
    assert result["metrics"] == best["metrics"]
    assert result["params"] == best["params"]
    version = ModelRegistry(where["store"], where["artifacts"]).get_version("credit", result["version"])
    assert version.params == best["params"]
    assert version.metrics == best["metrics"]
    # Every trial is kept with the version too, with the node it ran on (here: this machine).
    assert {t["node"] for t in trials} == {platform.node()}
    assert json.loads(read_artifact(version.tags["mlpy.train.trials"])) == trials


@pytest.mark.parametrize(
    ("entry", "error", "message"),
    [
        ("no_such_package.train:fit", EntryPointError, "no module 'no_such_package'"),
        ("credit_training.train:nothing", EntryPointError, "has no 'nothing'"),
        ("credit_training.train:NOT_A_FUNCTION", EntryPointError, "is a int, not a function"),
        (
            "credit_training.train:returns_text",
            TrainingResultError,
            "returned a str, not (estimator, metrics)",
        ),
        (
            "credit_training.train:returns_unfitted",
            TrainingResultError,
            "returned an unfitted LogisticRegression",
        ),
        ("credit_training.train:raises", ValueError, "no positive label"),
    ],
)
def test_a_failing_job_records_its_error_and_registers_nothing(
    user_code: Path,
    credit_files: dict[str, str],
    tmp_path: Path,
    entry: str,
    error: type[Exception],
    message: str,
) -> None:
    where = locations(tmp_path)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_job(spec(credit_files, entryPoint=entry), **where)
    (run,) = RunLog(open_store(where["store"])).list()
    assert run.state == "failed"
    assert run.error is not None
    assert message in run.error
    with pytest.raises(ModelNotFoundError):
        ModelRegistry(where["store"], where["artifacts"]).get_version("credit", "latest")


def test_data_that_cannot_be_read_is_refused_before_anything_runs(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(TrainingDataError, match="does not exist"):
        preflight(
            TrainingSpec.from_dict(spec({**credit_files, "holdout": str(tmp_path / "missing.parquet")}))
        )
    with pytest.raises(TrainingDataError, match="neither CSV nor Parquet"):
        preflight(TrainingSpec.from_dict(spec({"train": str(tmp_path / "data.xlsx")})))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(TrainingDataError, match="is not readable parquet"):
        run_job(spec({**credit_files, "holdout": str(broken)}), **locations(tmp_path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"entryPoint": "credit_training.train"}, "is not package.module:function"),
        ({"model": "bad name!"}, "bad model name"),
        ({"data": {}}, "names no data"),
        ({"promote": {"metric": "auc", "atLeast": "better"}}, "promote.atLeast is 'better'"),
        ({"promote": {"alias": "production"}}, "promote needs a metric"),
        ({"search": {"grid": {"C": []}, "metric": "auc"}}, "search.grid.C is not a non-empty list"),
        ({"epochs": 3}, "unknown spec field(s) epochs"),
    ],
)
def test_a_malformed_spec_is_one_clear_error(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTrainingSpecError) as caught:
        TrainingSpec.from_dict({**spec({"train": "train.parquet"}), **change})
    assert message in str(caught.value)


def test_a_gate_metric_the_function_does_not_return_fails_before_registering(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(TrainingResultError, match="reads metric 'f1', which the function did not return"):
        run_job(spec(credit_files, promote={"metric": "f1"}), **locations(tmp_path))
