"""Finding the user's training function from ``package.module:function``, with one-line errors."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from mlpy.training.errors import EntryPointError


def load_entry_point(entry_point: str) -> Callable[..., Any]:
    """The callable ``entry_point`` names; importing the module runs its top level, as any import does."""
    module_name, _, attribute = entry_point.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise EntryPointError(
            f"entry point {entry_point}: no module {exc.name or module_name!r}",
            hint="install the package that holds it (pip install, or the image) or fix the name",
        ) from exc
    except Exception as exc:
        raise EntryPointError(
            f"entry point {entry_point}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise EntryPointError(
                f"entry point {entry_point}: {module_name} has no {attribute!r}",
                hint=f"names in it: {', '.join(n for n in dir(module) if not n.startswith('_'))[:200]}",
            ) from exc
    if not callable(target):
        raise EntryPointError(
            f"entry point {entry_point} is a {type(target).__name__}, not a function",
            hint="point at a function that takes (data, params)",
        )
    return target  # type: ignore[no-any-return]
