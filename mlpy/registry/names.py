"""Validation of model names, aliases and version references (``3``, ``@production``, ``latest``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlpy.registry.errors import InvalidInputError

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Resolved on the fly, never stored: the newest live version.
LATEST = "latest"


def check_model_name(name: str) -> str:
    if not MODEL_NAME.match(name or ""):
        raise InvalidInputError(
            f"invalid model name {name!r}",
            hint="use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def check_alias(alias: str) -> str:
    if not ALIAS.match(alias or ""):
        raise InvalidInputError(
            f"invalid alias {alias!r}",
            hint="use lowercase letters, digits, '_' or '-', starting with a letter (e.g. production)",
        )
    if alias == LATEST:
        raise InvalidInputError("'latest' is reserved: it always means the newest version")
    return alias


@dataclass(frozen=True)
class VersionRef:
    """A version named by number, by alias, or as the newest."""

    number: int | None = None
    alias: str | None = None

    @property
    def is_latest(self) -> bool:
        return self.number is None and self.alias == LATEST

    def __str__(self) -> str:
        return str(self.number) if self.number is not None else f"@{self.alias}"


def parse_ref(ref: int | str) -> VersionRef:
    """``3``, ``"3"``, ``"v3"``, ``"@staging"``, ``"latest"``/``"@latest"``."""
    if isinstance(ref, bool):
        raise InvalidInputError(f"invalid version {ref!r}")
    if isinstance(ref, int):
        if ref < 1:
            raise InvalidInputError(f"invalid version {ref}: versions start at 1")
        return VersionRef(number=ref)
    text = ref.strip()
    if text.startswith("@") or text == LATEST:
        alias = text.lstrip("@")
        if alias == LATEST:
            return VersionRef(alias=LATEST)
        return VersionRef(alias=check_alias(alias))
    digits = text[1:] if text[:1] in {"v", "V"} else text
    # ASCII only: str.isdigit() also accepts superscripts (int() then fails) and other scripts' digits
    # (which int() reads as numbers).
    if digits.isascii() and digits.isdigit() and int(digits) >= 1:
        return VersionRef(number=int(digits))
    raise InvalidInputError(
        f"invalid version {ref!r}", hint="name a version by number (3) or by alias (@production)"
    )


def parse_model_id(model_id: str, default_alias: str = "production") -> tuple[str, VersionRef]:
    """``name`` (its default alias), ``name:3`` or ``name@alias``, the ids the server accepts."""
    if "@" in model_id:
        name, _, alias = model_id.partition("@")
        return check_model_name(name), parse_ref("@" + alias)
    if ":" in model_id:
        name, _, version = model_id.partition(":")
        return check_model_name(name), parse_ref(version)
    return check_model_name(model_id), VersionRef(alias=default_alias)
