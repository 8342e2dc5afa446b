"""Printing results: JSON for machines (``--output json``), Rich tables and text for people."""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

# On a terminal tables fit its width; in a pipe or a CI log they are printed whole, never cut at 80.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 1000)


class OutputFormat(enum.StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"

    @property
    def structured(self) -> bool:
        """JSON or YAML: data for a program, printed by ``print_data``."""
        return self is not OutputFormat.text


_chosen = {"format": OutputFormat.text}


def _remember(value: OutputFormat) -> OutputFormat:
    """Keep the command's choice, so print_data prints what was asked for."""
    _chosen["format"] = value
    return value


OUTPUT_OPTION = typer.Option(
    OutputFormat.text, "--output", "-o", help="Output format: text, json or yaml.", callback=_remember
)


def to_jsonable(value: Any) -> Any:
    """Records serialise through their own ``to_dict``; other dataclasses field by field."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def print_data(value: Any) -> None:
    """JSON (or YAML, with ``-o yaml``) on stdout, nothing else, so ``| jq`` or ``| yq`` always work.

    Lists come as ``{"items": [...]}`` from every command, as Kubernetes and the registry print them."""
    typer.echo(format_data(value, _chosen["format"]))


def format_data(value: Any, output: OutputFormat) -> str:
    """What ``print_data`` prints, for a command that writes it to a file too (no final newline)."""
    if isinstance(value, list | tuple):
        value = {"items": list(value)}
    data = orjson.dumps(
        value,
        default=to_jsonable,
        # Pass dataclasses to `default`, so a record's to_dict() decides its JSON shape.
        option=orjson.OPT_INDENT_2
        | orjson.OPT_SERIALIZE_NUMPY
        | orjson.OPT_NON_STR_KEYS
        | orjson.OPT_PASSTHROUGH_DATACLASS,
    )
    if output is OutputFormat.yaml:
        import yaml

        return yaml.safe_dump(orjson.loads(data), sort_keys=False, allow_unicode=True).removesuffix("\n")
    return data.decode()


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        # Text, not str: a value such as "[critical]" is data, not Rich markup.
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console.print(table)


def print_mapping(title: str | None, mapping: Mapping[str, Any]) -> None:
    print_table(title, ["field", "value"], [(key, _cell(value)) for key, value in mapping.items()])


def _cell(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def parse_pairs(pairs: Sequence[str] | None, option: str, *, numeric: bool = False) -> dict[str, Any]:
    """``k=v`` options into a dict; numbers become floats (or ints) when ``numeric``."""
    result: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        if numeric:
            try:
                result[key] = float(raw)
            except ValueError as exc:
                raise typer.BadParameter(f"{key}: {raw!r} is not a number", param_hint=option) from exc
        else:
            result[key] = raw
    return result
