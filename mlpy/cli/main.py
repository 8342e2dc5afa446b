"""Entry point: every sub-command group, and one place that turns errors into one-line messages."""

from __future__ import annotations

import sys

import typer

from mlpy import __version__
from mlpy.cli.lazy import LazyGroup
from mlpy.errors import MlpyError

app = typer.Typer(
    name="mlpy",
    cls=LazyGroup,
    help="Run scikit-learn models in production: registry, drift, experiments, monitoring, serving.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    # `mlpy --install-completion` / `--show-completion`: on the root only (sub-groups have none).
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlpy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """mlpy command line."""


def main(argv: list[str] | None = None) -> int:
    """Run the command; every expected failure ends as ``error: ...`` on one line and a non-zero exit."""
    command = typer.main.get_command(app)
    try:
        # Without standalone mode, click returns the code of a typer.Exit instead of raising it.
        result = command.main(args=argv, prog_name="mlpy", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("error: interrupted", err=True)
        return 130
    except typer.exceptions.TyperException as exc:
        # Usage errors (exit code 2) point at the command's --help; others are plain failures.
        code = int(getattr(exc, "exit_code", 1))
        message = _one_line(exc.format_message() if hasattr(exc, "format_message") else str(exc))
        ctx = getattr(exc, "ctx", None)
        if code == 2:
            where = ctx.command_path if ctx is not None else "mlpy"
            message = f"{message} (see '{where} --help')"
        typer.echo(f"error: {message}", err=True)
        return code
    except MlpyError as exc:
        typer.echo(f"error: {_one_line(str(exc))}", err=True)
        return int(getattr(exc, "exit_code", 1))
    return result if isinstance(result, int) else 0


def _one_line(message: str) -> str:
    return " ".join(message.split())


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
