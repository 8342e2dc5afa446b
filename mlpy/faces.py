"""Public faces that load on first use.

Other packages import a package's names only from the package itself (``from mlpy.drift import
check``), never from its modules: the import contracts in pyproject.toml enforce it. A face imports
each name from its home module when it is first asked for, so a command that needs one error class
does not pay for scipy, pandas or SQLAlchemy.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any


def load(package: str, homes: Mapping[str, str], name: str) -> Any:
    """The module ``__getattr__`` of a face: import ``name`` from its home and keep it on the package."""
    home = homes.get(name)
    if home is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    setattr(sys.modules[package], name, value)
    return value
