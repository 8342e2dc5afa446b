"""``mlpy train run | status | list``: the run printed, a failure as one line with a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpy.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_spec(tmp_path: Path, data: dict[str, str], **overrides: Any) -> str:
    raw: dict[str, Any] = {
        "entryPoint": "credit_training.train:fit",
        "data": data,
        "model": "credit",
        "promote": {"metric": "auc"},
    }
    raw.update(overrides)
    path = tmp_path / f"job-{len(list(tmp_path.glob('job-*')))}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_run_status_and_list(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--store", f"sqlite:///{tmp_path / 's.db'}"]
    artifacts = ["--artifacts", str(tmp_path / "a")]
    code, out, err = run(
        capsys, "train", "run", write_spec(tmp_path, credit_files), *where, *artifacts, "--output", "json"
    )
    assert code == 0, err
    shown = json.loads(out)
    assert shown["state"] == "succeeded"
    assert shown["result"]["version"] == 1
    assert shown["result"]["promoted"]
    assert err.startswith(f"run {shown['id']}: credit_training.train:fit -> credit (local)")
    code, out, _ = run(capsys, "train", "status", shown["id"], *where)
    assert code == 0
    assert "succeeded" in out
    assert "holds no version yet" in out
    failing = write_spec(tmp_path, credit_files, entryPoint="credit_training.train:raises")
    code, out, err = run(capsys, "train", "run", failing, *where, *artifacts)
    assert code == 1
    assert err.splitlines()[-1].startswith("error: run ")
    assert "ValueError: the holdout has no positive label" in err
    code, out, _ = run(capsys, "train", "list", *where, "--output", "json")
    assert [r["state"] for r in json.loads(out)["items"]] == ["failed", "succeeded"]


def test_bad_input_is_refused_before_any_run_is_recorded(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--store", f"sqlite:///{tmp_path / 's.db'}"]
    cases = [
        (
            write_spec(tmp_path, credit_files, entryPoint="nope.train:fit"),
            "error: entry point nope.train:fit: no module 'nope'",
        ),
        (write_spec(tmp_path, {"train": str(tmp_path / "gone.csv")}), "error: data train"),
        (str(tmp_path / "missing.yaml"), "error: cannot read"),
    ]
    for path, message in cases:
        code, _, err = run(capsys, "train", "run", path, *where)
        assert (code, err.count("\n")) == (1, 1), err
        assert err.startswith(message), err
    code, out, _ = run(capsys, "train", "list", *where, "--output", "json")
    assert json.loads(out) == {"items": []}
    code, _, err = run(capsys, "train", "status", "0" * 32, *where)
    assert code == 1
    assert err.startswith("error: no training run")


def test_an_unreachable_queue_is_refused_before_any_run_is_recorded(
    user_code: Path, credit_files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--store", f"sqlite:///{tmp_path / 's.db'}"]
    spec = write_spec(tmp_path, credit_files)
    code, _, err = run(
        capsys, "train", "run", spec, "--backend", "queue", "--redis", "redis://127.0.0.1:1/0", *where
    )
    assert (code, err.count("\n")) == (1, 1), err
    assert err.startswith("error: cannot reach Redis at redis://127.0.0.1:1/0")
    code, out, _ = run(capsys, "train", "list", *where, "--output", "json")
    assert json.loads(out) == {"items": []}
