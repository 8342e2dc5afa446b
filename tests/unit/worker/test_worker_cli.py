"""``mlpy worker``: JSON output, one-line errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlpy.cli.main import main

DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_monitor_once_prints_json(trained: Any, log_rows: Any, drifted_inputs: Any, capsys: Any) -> None:
    log_rows(trained.store, drifted_inputs)
    code = main(
        ["worker", "monitor", "--once", "-o", "json", "-m", "credit", "--metrics-port", "0",
         "--store", trained.store, "--artifacts", trained.artifacts, "--drift-share", "0.2"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    check = json.loads(out)["checks"][0]
    assert check["model"] == "credit"
    assert check["outcome"] == "drift"
    assert "income" in check["drifted"]


def test_monitor_once_text_names_the_skip(trained: Any, tmp_path: Path, capsys: Any) -> None:
    store = f"sqlite:///{tmp_path / 'empty.db'}"
    settings = json.dumps([{"model": "credit", "window": "2h"}])
    code = main(["worker", "monitor", "--once", "--settings", settings, "--store", store])
    assert code == 0
    assert "fewer than 30" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["worker", "monitor", "--once"], 2, "name at least one --model"),
        (["worker", "monitor", "--once", "--settings", "{nope"], 1, "--settings is not JSON"),
        (["worker", "monitor", "--once", "--settings", "[1]"], 1, "JSON object or a list of objects"),
        (["worker", "monitor", "--once", "-m", "credit", "--window", "soon"], 1, "is not a duration"),
        (["worker", "monitor", "--once", "-m", "Not A Name"], 1, "Not A Name"),
        (["worker", "status", "abc", "--redis", DEAD_REDIS], 1, "cannot reach Redis"),
        (["worker", "submit", "train", "-m", "credit", "--redis", DEAD_REDIS], 1, "cannot reach Redis"),
        (["worker", "run", "--redis", "not-a-url"], 1, "cannot reach Redis"),
        (["worker", "submit", "train", "-m", "credit", "--rows", "3"], 2, "--rows"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    argv: list[str], code: int, message: str, capsys: Any
) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_the_installed_command_runs() -> None:
    mlpy = Path(sys.executable).with_name("mlpy")
    done = subprocess.run(
        [str(mlpy), "worker", "status", "x", "--redis", DEAD_REDIS],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach Redis")
    assert "Traceback" not in done.stderr
    helped = subprocess.run(
        [str(mlpy), "worker", "monitor", "--help"], capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0
    assert "--settings" in helped.stdout
