"""``mlpy audit``: list, verify and export the hash-chained audit log."""

from __future__ import annotations

from pathlib import Path

import typer

from mlpy.audit import FORMATS, AuditLog, InvalidQueryError, verify_export
from mlpy.cli.output import OUTPUT_OPTION, OutputFormat, print_data, print_table

app = typer.Typer(
    help="The audit log: who did what, when, from what to what, and why.",
    no_args_is_help=True,
    add_completion=False,
)

_state: dict[str, str | None] = {}

SINCE_OPTION = typer.Option(None, "--since", help="From this UTC date or time on (ISO 8601, inclusive).")
UNTIL_OPTION = typer.Option(None, "--until", help="Before this UTC date or time (ISO 8601, exclusive).")
SUBJECT_OPTION = typer.Option(
    None, "--subject", help="A subject, or what it starts (credit matches credit@production)."
)
ACTION_OPTION = typer.Option(None, "--action", help="An action, or its group (registry matches registry.*).")


@app.callback()
def _location(
    store: str | None = typer.Option(
        None, "--store", envvar="MLPY_STORE", help="Metadata store URL (SQLite file or PostgreSQL)."
    ),
) -> None:
    """The log lives in the metadata store (default: a SQLite file under MLPY_HOME, ~/.mlpy)."""
    _state["store"] = store


def _log() -> AuditLog:
    return AuditLog(_state.get("store"))


@app.command("list")
def list_(
    subject: str | None = SUBJECT_OPTION,
    action: str | None = ACTION_OPTION,
    since: str | None = SINCE_OPTION,
    until: str | None = UNTIL_OPTION,
    limit: int = typer.Option(50, "--limit", help="How many of the newest entries."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """The newest entries, oldest of them first."""
    entries = _log().entries(subject=subject, action=action, since=since, until=until, limit=limit)
    if output.structured:
        print_data(entries)
        return
    rows = [
        (
            e.seq,
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.action,
            e.subject,
            e.from_value,
            e.to_value,
            e.reason,
        )
        for e in entries
    ]
    print_table("audit log", ["seq", "when (UTC)", "who", "action", "subject", "from", "to", "why"], rows)


@app.command()
def verify(
    file: Path | None = typer.Option(
        None, "--file", help="Check a JSON Lines export instead of the store (a period or the whole log)."
    ),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Recompute the hash chain; exits 3 naming the first entry that was edited, deleted or moved."""
    result = verify_export(file) if file is not None else _log().verify()
    if output.structured:
        print_data(result)
    elif result.ok:
        typer.echo(f"ok: {result.entries} entries, head {result.head_seq} sha256 {result.head_hash}")
    else:
        typer.echo(f"error: audit log broken at entry {result.first_bad_seq}: {result.problem}", err=True)
    if not result.ok:
        raise typer.Exit(3)


@app.command()
def export(
    since: str | None = SINCE_OPTION,
    until: str | None = UNTIL_OPTION,
    fmt: str = typer.Option("jsonl", "--format", help=f"One of {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(None, "--output", help="A file to write (default: standard output)."),
    subject: str | None = SUBJECT_OPTION,
    action: str | None = ACTION_OPTION,
) -> None:
    """Every matching entry, oldest first, with its hashes."""
    if fmt not in FORMATS:
        raise InvalidQueryError(f"unknown --format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    log = _log()
    if output is None:
        log.export(
            typer.get_text_stream("stdout"), fmt=fmt, since=since, until=until, subject=subject, action=action
        )
        return
    count = log.export(output, fmt=fmt, since=since, until=until, subject=subject, action=action)
    typer.echo(f"exported {count} entries to {output}", err=True)
