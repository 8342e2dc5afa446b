"""Words for JSON Schema constraints, shared by the generated references (docs/crds.md, docs/http-api.md)."""

from __future__ import annotations

from typing import Any

_BOUNDS = (
    ("minimum", ">="),
    ("maximum", "<="),
    ("minLength", "length >="),
    ("maxLength", "length <="),
    ("minItems", "items >="),
    ("maxItems", "items <="),
)


def bounds(schema: dict[str, Any]) -> list[str]:
    """The allowed values and the numeric, length and item bounds of one schema, as short phrases."""
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    parts += [f"{label} {schema[key]}" for key, label in _BOUNDS if key in schema]
    return parts


def table_row(cells: tuple[str, ...] | list[str]) -> str:
    """One Markdown table row; a ``|`` inside a cell (``a | b`` in a description) is escaped."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
