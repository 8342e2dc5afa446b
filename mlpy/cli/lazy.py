"""Sub-commands imported on first use, so ``mlpy --version`` or ``mlpy drift check`` does not pay for
scikit-learn, FastAPI and scipy.stats that other command groups need."""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.core

# name -> "module:attribute": a Typer app (a group of commands) or a plain function (one command).
SUBCOMMANDS: dict[str, str] = {
    "registry": "mlpy.cli.registry:app",
    "drift": "mlpy.cli.drift:app",
    "experiment": "mlpy.cli.experiment:app",
    "monitor": "mlpy.cli.monitor:app",
    "serve": "mlpy.cli.serve:serve",
    "worker": "mlpy.cli.worker:app",
    "train": "mlpy.cli.train:app",
    "demo": "mlpy.cli.demo:demo",
    "audit": "mlpy.cli.audit:app",
}


def load_command(name: str) -> Any:
    """The click command behind ``name``, imported now."""
    module_name, _, attribute = SUBCOMMANDS[name].partition(":")
    target = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_command(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(typer.core.TyperGroup):
    """A root group whose sub-commands are imported only when they are run (or listed by --help)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in SUBCOMMANDS:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)
