"""The packages' public faces: every exported name resolves, and importing a face costs nothing heavy."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

FACES = [
    "mlpy.audit",
    "mlpy.cards",
    "mlpy.compiled",
    "mlpy.demo",
    "mlpy.drift",
    "mlpy.experiments",
    "mlpy.monitoring",
    "mlpy.registry",
    "mlpy.training",
    "mlpy.worker",
    "mlpy_operator",
    "mlpy_server",
]


@pytest.mark.parametrize("name", FACES)
def test_every_exported_name_resolves_to_its_home(name: str) -> None:
    face = importlib.import_module(name)
    homes: dict[str, str] = face._HOMES
    assert sorted(face.__all__) == sorted(homes)
    submodules = {info.name for info in pkgutil.iter_modules(face.__path__)}
    for exported, home in homes.items():
        # A name that is also a submodule's would be shadowed by the submodule once it is imported.
        assert exported not in submodules, f"{name}.{exported} is also a module"
        assert getattr(face, exported) is getattr(importlib.import_module(home), exported)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        face.nothing_here  # noqa: B018


def test_importing_the_faces_loads_no_heavy_library() -> None:
    """The command line imports faces at start-up: scipy, pandas, scikit-learn and SQLAlchemy wait for
    the name that needs them."""
    heavy = ("scipy", "pandas", "sklearn", "sqlalchemy", "fastapi")
    imports = ", ".join(["mlpy.cli.main", *FACES])
    code = f"import sys, {imports}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_the_registry_starts_without_numpy_or_fsspec() -> None:
    """``mlpy registry list``, ``promote`` or ``manifest`` touch no model and no artifact: what a model
    or an artifact needs loads when one is handled (each command is a process; its start-up counts)."""
    heavy = ("numpy", "fsspec", "pandas", "sklearn", "skops")
    code = (
        "import sys, tempfile; from mlpy.registry import ModelRegistry; d = tempfile.mkdtemp(); "
        "ModelRegistry(f'sqlite:///{d}/s.db', d + '/a').search_versions(); "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
