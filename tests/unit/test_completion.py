"""Shell completion: the script `mlpy --show-completion bash` prints works when bash sources it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("words", "word", "expected"), [("mlpy reg", 1, "registry"), ("mlpy registry pro", 2, "promote")]
)
def test_bash_completes_commands_and_subcommands(
    tmp_path: Path, words: str, word: int, expected: str
) -> None:
    bin_dir = Path(sys.executable).parent  # the `mlpy` script the package installs
    script = f"""
        eval "$(mlpy --show-completion bash)"
        COMP_WORDS=({words}); COMP_CWORD={word}
        _mlpy_completion mlpy
        echo "${{COMPREPLY[@]}}"
    """
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", "MLPY_HOME": str(tmp_path)}
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [expected], done.stdout + done.stderr


def test_only_the_root_offers_completion_options() -> None:
    from mlpy.cli.main import main

    assert main(["registry", "--install-completion"]) == 2  # an unknown option there: one place to look
