"""Every ``mlpy registry`` command, its JSON output, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import skops.io
import yaml

from mlpy.cli.main import main


@pytest.fixture
def model_file(tmp_path: Path, regressor: Any) -> Path:
    path = tmp_path / "house.skops"
    skops.io.dump(regressor, path)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--output", "json")
    assert code == 0, err
    return json.loads(out)


def test_full_lifecycle(capsys: pytest.CaptureFixture[str], model_file: Path) -> None:
    v1 = run_json(
        capsys,
        "registry",
        "register",
        "house",
        str(model_file),
        "--metric",
        "rmse=3.2",
        "--param",
        "alpha=0.1",
        "--tag",
        "team=pricing",
        "--description",
        "baseline",
    )
    assert v1["version"] == 1
    assert v1["metrics"] == {"rmse": 3.2}
    assert v1["tags"] == {"team": "pricing"}
    v2 = run_json(
        capsys, "registry", "register", "house", str(model_file), "--metric", "rmse=2.9", "--parent", "1"
    )
    assert v2["parent"] == "house:1"

    listed = run_json(capsys, "registry", "list")
    assert [m["name"] for m in listed["items"]] == ["house"]
    versions = run_json(capsys, "registry", "list", "house")
    assert [v["version"] for v in versions["items"]] == [2, 1]
    assert run_json(capsys, "registry", "show", "house", "1")["description"] == "baseline"

    change = run_json(capsys, "registry", "promote", "house", "1", "--reason", "ship it")
    assert (change["from_version"], change["to_version"]) == (None, 1)
    run_json(capsys, "registry", "promote", "house", "2")
    assert run_json(capsys, "registry", "show", "house", "@production")["version"] == 2
    back = run_json(capsys, "registry", "rollback", "house", "--reason", "latency")
    assert back["to_version"] == 1
    history = run_json(capsys, "registry", "history", "house")["items"]
    assert [h["action"] for h in history] == ["promote", "promote", "rollback"]
    assert history[0]["reason"] == "ship it"

    diff = run_json(capsys, "registry", "compare", "house", "1", "2")
    assert diff["metrics"]["rmse"]["delta"] == pytest.approx(-0.3)
    assert run_json(capsys, "registry", "verify", "house", "@production")["ok"] is True
    assert [v["version"] for v in run_json(capsys, "registry", "lineage", "house", "2")["items"]] == [2, 1]

    code, out, _ = run(capsys, "registry", "manifest", "house", "@production", "-n", "models")
    assert code == 0
    manifest = yaml.safe_load(out)
    assert manifest["kind"] == "ModelVersion"
    assert manifest["metadata"] == {
        "name": "house-v1",
        "namespace": "models",
        "labels": {
            "app.kubernetes.io/name": "house",
            "app.kubernetes.io/part-of": "mlpy",
            "mlpy.io/model": "house",
            "mlpy.io/version": "1",
        },
    }
    assert manifest["spec"]["stage"] == "production"
    assert manifest["spec"]["artifact"]["sha256"] == v1["sha256"]

    plan = run_json(capsys, "registry", "gc", "house", "--keep", "0", "--dry-run")
    assert plan == {
        "name": "house",
        "dry_run": True,
        "deleted": [2],
        "kept": [1],
        "protected": {"1": ["production"]},
    }
    assert run_json(capsys, "registry", "gc", "house", "--keep", "0")["deleted"] == [2]
    assert run_json(capsys, "registry", "list", "house")["total"] == 1


def test_text_output_is_readable(capsys: pytest.CaptureFixture[str], model_file: Path) -> None:
    code, out, _ = run(capsys, "registry", "register", "house", str(model_file))
    assert code == 0
    assert out.startswith("registered house version 1")
    for args in (
        ["list"],
        ["list", "house"],
        ["show", "house", "1"],
        ["history", "house"],
        ["compare", "house", "1", "1"],
        ["gc", "house", "--keep", "1", "--dry-run"],
    ):
        code, out, err = run(capsys, "registry", *args)
        assert code == 0, err
        assert out.strip()


def test_verify_fails_on_tampering(capsys: pytest.CaptureFixture[str], model_file: Path) -> None:
    version = run_json(capsys, "registry", "register", "house", str(model_file))
    Path(version["artifact_uri"]).write_bytes(b"evil")
    code, out, err = run(capsys, "registry", "verify", "house", "1")
    assert code == 3
    assert version["sha256"] in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, "registry", "verify", "house", "1", "-o", "json")
    assert code == 3
    assert json.loads(out)["ok"] is False


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["registry", "register", "house", "missing.skops"], 1, "cannot read"),
        (["registry", "register", "house", "{model}", "--metric", "rmse"], 2, "expected KEY=VALUE"),
        (["registry", "register", "house", "{model}", "--metric", "rmse=abc"], 2, "not a number"),
        (["registry", "register", "bad name", "{model}"], 1, "invalid model name"),
        (["registry", "register", "house", "{model}", "--parent", "7"], 1, "parent 7 does not exist"),
        (["registry", "show", "ghost", "1"], 1, "no model named 'ghost'"),
        (["registry", "show", "house", "x"], 1, "invalid version 'x'"),
        (["registry", "promote", "ghost", "1"], 1, "no model named"),
        (["registry", "promote", "house", "1", "--alias", "Bad Alias"], 1, "invalid alias"),
        (["registry", "rollback", "house"], 1, "no earlier version"),
        (["registry", "gc", "house", "--keep", "-1"], 1, "0 or more"),
        (["registry", "gc", "house"], 2, "--keep"),
        (["registry", "manifest", "house", "1", "--stage", "prod"], 2, "--stage"),
        (["registry", "list", "house", "--page-size", "0"], 1, "page size"),
        (["registry", "--store", "nosuchdb://x", "list"], 1, "cannot open metadata store"),
        (["registry", "--store", "postgresql://u:secret@127.0.0.1:1/db", "list"], 1, "cannot reach"),
        (["registry", "frobnicate"], 2, "No such command"),
    ],
)
def test_bad_input_gives_one_line(
    capsys: pytest.CaptureFixture[str], model_file: Path, args: list[str], code: int, message: str
) -> None:
    run(capsys, "registry", "register", "house", str(model_file))
    got, _out, err = run(capsys, *[a.replace("{model}", str(model_file)) for a in args])
    assert got == code
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in err
    assert "secret" not in err


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (
        "register",
        "list",
        "show",
        "lineage",
        "promote",
        "rollback",
        "history",
        "compare",
        "gc",
        "verify",
        "manifest",
    ):
        code, out, _ = run(capsys, "registry", command, "--help")
        assert code == 0, command
        assert "Usage" in out, command


def test_real_command_and_environment_locations(model_file: Path, tmp_path: Path) -> None:
    env = dict(
        os.environ, MLPY_STORE=f"sqlite:///{tmp_path / 'env.db'}", MLPY_ARTIFACTS=str(tmp_path / "env-art")
    )
    mlpy = [sys.executable, "-m", "mlpy.cli.main"]
    done = subprocess.run(
        [*mlpy, "registry", "register", "house", str(model_file), "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["artifact_uri"].startswith(str(tmp_path / "env-art"))
    assert (tmp_path / "env.db").exists()
    bad = subprocess.run(
        [*mlpy, "registry", "show", "house", "9"], env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: model 'house' has no version 9"


def test_register_if_new_is_a_safe_retry(capsys: pytest.CaptureFixture[str], model_file: Path) -> None:
    """A retry after a registration whose commit landed (the client died, timed out) adds no copy."""
    first = run_json(capsys, "registry", "register", "house", str(model_file), "--if-new")
    again = run_json(capsys, "registry", "register", "house", str(model_file), "--if-new")
    assert (again["version"], again["sha256"]) == (first["version"], first["sha256"]) == (1, first["sha256"])
    copy = run_json(capsys, "registry", "register", "house", str(model_file))
    assert copy["version"] == 2  # without --if-new, the same bytes make a new version (as documented)
    assert run_json(capsys, "registry", "register", "house", str(model_file), "--if-new")["version"] == 2
    code, _, err = run(capsys, "registry", "show", "house", "\u00b2")
    assert code != 0
    assert err.strip().count("\n") == 0
    assert "invalid version" in err


def test_yaml_output_and_one_list_shape(capsys: pytest.CaptureFixture[str], model_file: Path) -> None:
    assert main(["registry", "register", "house", str(model_file), "-o", "yaml"]) == 0
    registered = yaml.safe_load(capsys.readouterr().out)
    assert registered["version"] == 1
    assert main(["registry", "history", "house", "-o", "yaml"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == {"items": []}
    assert main(["registry", "history", "house", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"items": []}


def test_tables_are_not_cut_in_a_pipe(tmp_path: Path, model_file: Path) -> None:
    """Off a terminal (a pipe, a CI log) a table is printed whole, however wide."""
    long_tag = "x" * 150
    env = {**os.environ, "MLPY_HOME": str(tmp_path / "home"), "COLUMNS": "80"}
    mlpy = [sys.executable, "-m", "mlpy.cli.main", "registry"]
    subprocess.run(
        [*mlpy, "register", "house", str(model_file), "--tag", f"note={long_tag}"], env=env, check=True
    )
    done = subprocess.run([*mlpy, "show", "house", "1"], env=env, capture_output=True, text=True, check=True)
    assert long_tag in done.stdout


def test_register_declares_sensitive_features(capsys: pytest.CaptureFixture[str], model_file: Path) -> None:
    args = ["registry", "register", "house", str(model_file)]
    declared = run_json(capsys, *args, "--sensitive-feature", "sex", "--sensitive-feature", "age_band")
    assert declared["tags"]["mlpy.fairness.groups"] == "sex,age_band"
    code, _, err = run(capsys, *args, "--sensitive-feature", "two words")
    assert code != 0
    assert err.strip().count("\n") == 0
    assert "invalid sensitive feature name 'two words'" in err
