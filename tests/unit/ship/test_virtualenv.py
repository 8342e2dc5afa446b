"""The virtualenv scripts/setup-venv.sh makes: its heavy libraries come with their bytecode."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

import pytest

HEAVY = ("sklearn", "scipy", "pandas", "numpy", "sqlalchemy", "skops", "fastapi")


@pytest.mark.parametrize("package", HEAVY)
def test_heavy_libraries_are_compiled(package: str) -> None:
    """Where PYTHONDONTWRITEBYTECODE is set (CI machines, the images), Python never caches what it
    compiles: without the bytecode installed, every process compiles these from source again."""
    source = importlib.import_module(package).__file__
    assert source is not None
    cached = Path(importlib.util.cache_from_source(source))
    setting = os.environ.get("PYTHONDONTWRITEBYTECODE")
    assert cached.is_file(), (
        f"{package} has no bytecode ({cached}; PYTHONDONTWRITEBYTECODE={setting}): recreate the "
        "virtualenv with rm .venv/.mlpy-install-* && bash scripts/setup-venv.sh"
    )
