"""``mlpy drift``: profile, check, history, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlpy.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_profile_then_check_as_json(
    capsys: pytest.CaptureFixture[str], data_files: dict[str, Path], tmp_path: Path
) -> None:
    code, out, _ = _run(
        capsys,
        "drift",
        "profile",
        "--reference",
        str(data_files["reference"]),
        "--out",
        str(tmp_path / "p"),
        "-o",
        "json",
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["rows"] == 4000
    assert summary["columns"]["city"] == "categorical"
    code, out, err = _run(
        capsys,
        "drift",
        "check",
        "--profile",
        summary["profile"],
        "--current",
        str(data_files["current"]),
        "-o",
        "json",
    )
    assert code == 0
    assert err == ""
    report = json.loads(out)
    assert report["dataset_drift"] is True
    assert set(report["features"]) == {"age", "income", "city", "flag"}
    assert report["features"]["age"]["method"] == "ks"


def test_check_as_yaml_says_what_json_says(
    capsys: pytest.CaptureFixture[str], data_files: dict[str, Path], tmp_path: Path
) -> None:
    import yaml

    def timeless(report: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in report.items() if key not in {"created_at", "duration_seconds"}}

    files = ["-r", str(data_files["reference"]), "-c", str(data_files["current"])]
    args = ["drift", "check", *files, "--no-store"]
    _, as_json, _ = _run(capsys, *args, "-o", "json")
    code, as_yaml, err = _run(capsys, *args, "-o", "yaml")
    assert (code, err) == (0, "")
    assert timeless(yaml.safe_load(as_yaml)) == timeless(json.loads(as_json))
    written = tmp_path / "drift.yaml"
    assert _run(capsys, *args, "-o", "yaml", "--out", str(written))[0] == 0
    assert timeless(yaml.safe_load(written.read_text())) == timeless(json.loads(as_json))


def test_methods_list_in_the_items_shape_of_every_list_command(capsys: pytest.CaptureFixture[str]) -> None:
    from mlpy.drift import Method

    code, out, _ = _run(capsys, "drift", "methods", "-o", "json")
    assert code == 0
    items = json.loads(out)["items"]
    assert [item["method"] for item in items] == [m.value for m in Method]
    ks = next(item for item in items if item["method"] == "ks")
    assert (ks["kinds"], ks["shape_test"]["method"]) == (["numeric"], "anderson")
    code, out, _ = _run(capsys, "drift", "methods")
    assert code == 0
    assert all(m.value in out for m in Method)


def test_check_text_and_fail_on_drift(
    capsys: pytest.CaptureFixture[str], data_files: dict[str, Path]
) -> None:
    args = ["drift", "check", "--reference", str(data_files["reference"]), "--current"]
    code, out, _ = _run(capsys, *args, str(data_files["current"]), "--fail-on-drift")
    assert code == 3
    assert "DATASET DRIFT" in out
    code, out, _ = _run(capsys, *args, str(data_files["same"]), "--fail-on-drift")
    assert code == 0
    assert "no dataset drift" in out


def test_check_options_reach_the_report(
    capsys: pytest.CaptureFixture[str], data_files: dict[str, Path]
) -> None:
    code, out, _ = _run(
        capsys,
        "drift", "check", "-r", str(data_files["reference"]), "-c", str(data_files["current"]),
        "--method", "age=psi", "--threshold", "age=0.3", "--features", "age,city",
        "--drift-share", "0.9", "--correction", "bh", "-o", "json", "--no-store",
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert set(report["features"]) == {"age", "city"}
    assert report["features"]["age"]["method"] == "psi"
    assert report["features"]["age"]["threshold"] == 0.3
    assert report["drift_share_threshold"] == 0.9
    assert report["correction"] == "benjamini-hochberg"


def test_html_report_and_metrics_file(
    capsys: pytest.CaptureFixture[str], data_files: dict[str, Path], tmp_path: Path
) -> None:
    page, metrics = tmp_path / "out" / "report.html", tmp_path / "drift.prom"
    code, out, _ = _run(
        capsys,
        "drift", "check", "-r", str(data_files["reference"]), "-c", str(data_files["current"]),
        "-o", "html", "--out", str(page), "--metrics-file", str(metrics), "--name", "credit",
    )  # fmt: skip
    assert code == 0
    assert out == ""
    assert page.read_text().count("<svg") == 4
    assert 'mlpy_drift_dataset_drift{dataset="credit"} 1.0' in metrics.read_text()


def test_history_lists_stored_checks(capsys: pytest.CaptureFixture[str], data_files: dict[str, Path]) -> None:
    for current in ("current", "same"):
        assert (
            main(
                [
                    "drift",
                    "check",
                    "-r",
                    str(data_files["reference"]),
                    "-c",
                    str(data_files[current]),
                    "--name",
                    "m",
                ]
            )
            == 0
        )
    main(["drift", "check", "-r", str(data_files["reference"]), "-c", str(data_files["same"]), "--no-store"])
    capsys.readouterr()
    code, out, _ = _run(capsys, "drift", "history", "--name", "m", "-o", "json")
    rows = json.loads(out)["items"]  # every list command: {"items": [...]}
    assert code == 0
    assert [row["dataset_drift"] for row in rows] == [False, True]
    code, out, _ = _run(capsys, "drift", "history", "--limit", "1", "-o", "json")
    assert code == 0
    assert [row["current"] for row in json.loads(out)["items"]] == [str(data_files["same"])]
    code, out, _ = _run(capsys, "drift", "history")
    assert code == 0
    assert out.count("DRIFT") == 1
    assert out.count(" ok ") == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--current", "{missing}"], 1, "no such file"),
        (["--current", "{bad_csv}"], 1, "cannot read csv file"),
        (["--current", "{unknown_format}"], 1, "cannot tell the format"),
        (["--current", "{wrong_columns}"], 1, "lacks column(s) age"),
        (["--current", "{current}", "--method", "city=ks"], 1, "needs numbers"),
        (["--current", "{current}", "--threshold", "age=abc"], 2, "is not a number"),
        (["--current", "{current}", "--method", "age"], 2, "expected KEY=VALUE"),
        (["--current", "{current}", "--features", "age,nope"], 1, "lacks column(s) nope"),
        (["--current", "{current}", "--correction", "sidak"], 1, "unknown correction"),
        (["--current", "{current}", "--profile", "{reference}"], 2, "exactly one of"),
    ],
)
def test_bad_input_gives_one_line_errors(
    capsys: pytest.CaptureFixture[str],
    data_files: dict[str, Path],
    tmp_path: Path,
    args: list[str],
    code: int,
    message: str,
) -> None:
    (tmp_path / "bad.csv").write_bytes(b"age,income,city,flag\n1,2,paris,0\n2,x,extra\n")
    (tmp_path / "data.xlsx").write_text("x")
    (tmp_path / "wrong.csv").write_text("other,city\n1,paris\n")
    paths = {
        "missing": tmp_path / "missing.csv",
        "bad_csv": tmp_path / "bad.csv",
        "unknown_format": tmp_path / "data.xlsx",
        "wrong_columns": tmp_path / "wrong.csv",
        "current": data_files["current"],
        "reference": data_files["reference"],
    }
    filled = [arg.format(**{k: str(v) for k, v in paths.items()}) for arg in args]
    result, out, err = _run(capsys, "drift", "check", "--reference", str(data_files["reference"]), *filled)
    assert result == code
    assert out == ""
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1


def test_not_a_profile_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], data_files: dict[str, Path]
) -> None:
    code, _, err = _run(
        capsys,
        "drift",
        "check",
        "--profile",
        str(data_files["reference"]),
        "--current",
        str(data_files["current"]),
    )
    assert code == 1
    assert "is not a drift profile" in err
    assert err.count("\n") == 1


def test_real_subprocess_pipes_json(data_files: dict[str, Path], tmp_path: Path) -> None:
    mlpy = Path(sys.executable).with_name("mlpy")
    env = os.environ | {"MLPY_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [
            str(mlpy),
            "drift",
            "check",
            "-r",
            str(data_files["reference"]),
            "-c",
            str(data_files["current"]),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["features"]["city"]["drifted"] is True
    assert result.stderr == ""
