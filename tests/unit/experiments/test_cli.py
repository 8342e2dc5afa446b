from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlpy.cli.main import main
from mlpy.experiments import VariantStats
from mlpy.experiments.sql_stats import SqlStats
from mlpy.store import open_store

SIM = [
    "experiment",
    "simulate",
    "--truth",
    "A=1.0",
    "--truth",
    "B=0.8",
    "--goal",
    "minimize",
    "--steps",
    "30",
]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_simulate_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, [*SIM, "--seed", "2", "--aa-repeats", "20", "--steps", "10", "-o", "json"])
    assert set(data["traffic"]) == {"A", "B"}
    assert data["decision"] in {"ship", "roll_back", "keep_running", "inconclusive"}
    assert {"winner", "weights", "reasons", "analysis", "decided_at_step"} <= set(data)
    aa = data["aa"]
    assert isinstance(aa, dict)
    assert aa["repeats"] == 20
    assert 0 <= aa["false_positive_rate"] <= 1


def test_simulate_finds_the_better_variant(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(
        capsys, [*SIM, "--strategy", "thompson-sampling", "--steps", "40", "--seed", "1", "-o", "json"]
    )
    assert data["winner"] == "B"
    traffic = data["traffic"]
    assert isinstance(traffic, dict)
    assert traffic["B"] > traffic["A"]


def test_simulate_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SIM, "--strategy", "epsilon-greedy", "--steps", "5"]) == 0
    out = capsys.readouterr().out
    assert "epsilon-greedy" in out
    assert "variant" in out


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--strategy", "bogus"], 1, "unknown strategy 'bogus'"),
        (["--truth", "C"], 2, "expected KEY=VALUE"),
        (["--truth", "C=abc"], 2, "is not a number"),
        (["--steps", "-3"], 1, "must be positive"),
        (["--metric", "median"], 2, "--metric"),
        (["--noise", "-1"], 1, "noise"),
        (["--aa-repeats", "100000"], 1, "too many analyses"),
    ],
)
def test_simulate_bad_input_is_one_line_error(
    capsys: pytest.CaptureFixture[str], extra: list[str], code: int, message: str
) -> None:
    assert main([*SIM, *extra]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1


def test_power_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(
        capsys,
        ["experiment", "power", "--metric", "proportion", "--baseline", "0.1", "--mde", "0.05", "-o", "json"],
    )
    assert isinstance(data["per_variant"], int)
    assert data["per_variant"] > 1000
    assert data["total"] == 2 * data["per_variant"]
    assert data["sequential_per_variant"] > data["per_variant"]


def test_power_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "power", "--metric", "mean", "--baseline", "1", "--mde", "0.1"]) == 1
    assert "error: a mean metric needs --sd > 0" in capsys.readouterr().err


def test_create_analyse_stop_through_the_store(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    store = ["experiment", "--store", sqlite_url]
    created = _json(
        capsys,
        [
            *store,
            "create",
            "ranker",
            "--variant",
            "v1=50",
            "--variant",
            "v2=50",
            "--metric-name",
            "squared_error",
            "--goal",
            "minimize",
            "--max-duration",
            "14d",
            "-o",
            "json",
        ],
    )
    assert created["status"] == "running"
    assert main([*store, "create", "ranker", "--variant", "v1=50", "--variant", "v2=50"]) == 1
    assert "already exists" in capsys.readouterr().err

    SqlStats(open_store(sqlite_url)).add(
        "ranker",
        {
            "v1": VariantStats(1000, 1000.0, 1000, 2000.0, 6000.0),
            "v2": VariantStats(1000, 1000.0, 1000, 1000.0, 2000.0),
        },
    )
    data = _json(capsys, [*store, "analyse", "ranker", "-o", "json"])
    analysis = data["analysis"]
    assert isinstance(analysis, dict)
    assert analysis["decision"] == "ship", analysis
    assert analysis["winner"] == "v2"
    listed = _json(capsys, [*store, "list", "-o", "json"])
    assert [e["name"] for e in listed["items"]] == ["ranker"]
    stopped = _json(capsys, [*store, "stop", "ranker", "-o", "json"])
    assert (stopped["status"], stopped["decision"], stopped["winner"]) == ("stopped", "ship", "v2")
    assert main([*store, "analyse", "nope"]) == 1
    assert "no experiment named 'nope'" in capsys.readouterr().err


def test_real_subprocess_run(tmp_path: Path) -> None:
    mlpy = Path(sys.executable).parent / "mlpy"
    done = subprocess.run(
        [str(mlpy), *SIM, "--steps", "5", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["strategy"] == "thompson-sampling"
    bad = subprocess.run(
        [str(mlpy), *SIM, "--strategy", "nope"], capture_output=True, text=True, timeout=120, check=False
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: unknown strategy")
    assert "Traceback" not in bad.stderr


def test_create_an_experiment_on_a_kpi(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    create = ["experiment", "--store", sqlite_url, "create", "--variant", "A=50", "--variant", "B=50"]
    default = _json(capsys, [*create, "plain", "-o", "json"])
    assert default["config"]["metric"]["source"] == "feedback"
    kpi = _json(
        capsys, [*create, "pricing", "--metric-name", "revenue", "--metric-source", "kpi", "-o", "json"]
    )
    assert kpi["config"]["metric"] == {"name": "revenue", "goal": "maximize", "type": "mean", "source": "kpi"}
    assert main([*create, "other", "--metric-source", "survey"]) == 2
    assert "--metric-source" in capsys.readouterr().err
