"""Under CI a skipped or xfailed test fails the run and is listed with its reason; elsewhere a skip
is only reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("no Frobnicator here")

@pytest.mark.xfail(reason="known to be broken")
def test_xfails():
    raise AssertionError
"""


def run_suite(tmp_path: Path, ci: str, suite: str = SUITE) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_suite.py").write_text(suite)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update({"CI": ci, "PYTHONPATH": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:cacheprovider", "test_suite.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_skip_and_an_xfail_fail_a_ci_run_naming_each(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "true")
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "2 not run under CI=true, which fails the run" in done.stdout
    assert "test_suite.py::test_skips: no Frobnicator here" in done.stdout
    assert "test_suite.py::test_xfails: xfail: known to be broken" in done.stdout


def test_outside_ci_a_skip_is_only_reported(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "")
    assert done.returncode == pytest.ExitCode.OK, done.stdout
    assert "not run under CI" not in done.stdout


def test_a_ci_run_without_skips_passes(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "true", "def test_runs():\n    pass\n")
    assert done.returncode == pytest.ExitCode.OK, done.stdout
