"""A card as Markdown (the source), as HTML rendered from that Markdown, or as JSON.

HTML comes from the Markdown through markdown-it-py with raw HTML disabled, so the two never disagree
and text a user gave at registration cannot inject markup into the page.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

from mlpy.cards.content import ModelCard, Section
from mlpy.cards.errors import UnknownCardFormatError

FORMATS = ("markdown", "html", "json")
_MEDIA_TYPES = {"markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}
#: Values shown as code: identifiers and hashes read better verbatim than as prose.
CODE_KEYS = frozenset({"estimator", "sha256", "artifact", "profile", "source", "version"})
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
    "text-align:left;font-size:.9rem}th{background:#f4f4f4}code{font-size:.85rem}"
)


def media_type(fmt: str) -> str:
    return _MEDIA_TYPES.get(check_format(fmt), "application/json")


def check_format(fmt: str) -> str:
    name = {"md": "markdown"}.get(fmt.lower(), fmt.lower())
    if name not in FORMATS:
        raise UnknownCardFormatError(f"no card format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    return name


def render(card: ModelCard, fmt: str) -> str:
    """The card in ``fmt`` (markdown, md, html or json)."""
    name = check_format(fmt)
    if name == "json":
        return json.dumps(plain(card.to_dict()), indent=2, ensure_ascii=False) + "\n"
    if name == "markdown":
        return to_markdown(card)
    return to_html(card)


def to_markdown(card: ModelCard) -> str:
    lines = [
        f"# Model card: {card.ref}",
        "",
        f"Generated {card.generated_at} by mlpy, following {card.practice}.",
        "",
    ]
    for section in card.sections:
        lines.extend(_section(section))
    return "\n".join(lines).rstrip() + "\n"


def to_html(card: ModelCard) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(to_markdown(card))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Model card: {html.escape(card.ref)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{body}</body></html>\n"
    )


def _section(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    text = section.facts.get("text")
    if isinstance(text, str) and len(section.facts) == 1:
        lines += [text, ""]
    elif section.facts:
        lines += [
            f"- **{key.replace('_', ' ')}**: {_cell(value, code=key in CODE_KEYS)}"
            for key, value in section.facts.items()
        ]
        lines.append("")
    if section.rows:
        lines += _table(section.rows)
    if section.note:
        lines += [f"_{_escape(section.note)}_", ""]
    return lines


def _table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = [
        "| " + " | ".join(c.replace("_", " ") for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += [
        "| " + " | ".join(_cell(row.get(c), code=c in CODE_KEYS) for c in columns) + " |" for row in rows
    ]
    return [*lines, ""]


def _cell(value: Any, *, code: bool = False) -> str:
    if code and isinstance(value, str) and value and "`" not in value and "|" not in value:
        return f"`{value}`"
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:,.1f}" if abs(value) >= 1_000 else f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value) or "—"
    return _escape(str(value))


def _escape(text: str) -> str:
    """Text safe inside a Markdown table cell or emphasis: one line, no pipes, no markup characters."""
    flat = " ".join(text.split())
    for char in "\\|*`[]<>":
        flat = flat.replace(char, "\\" + char)
    # An underscore inside a word is never emphasis in CommonMark; one at a word's edge may be.
    return _LONE_UNDERSCORE.sub(r"\\_", flat)


def plain(value: Any) -> Any:
    """JSON without NaN or infinity (a profile's mean of an empty column is NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
