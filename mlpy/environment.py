"""Reading settings from environment variables, the one way the server, the router and the operator do.

A malformed value is refused with the variable's name and what to set instead, raised as the caller's
own configuration error (each package keeps its exception hierarchy), so a process stops at start-up
instead of half working.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TypeVar

from mlpy.errors import ConfigError, MlpyError

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
Number = TypeVar("Number", int, float)


class Environment:
    """Typed reads of ``env`` (``os.environ`` when not given); an empty value counts as unset."""

    def __init__(self, env: Mapping[str, str] | None = None, *, error: type[MlpyError] = ConfigError) -> None:
        self.env = os.environ if env is None else env
        self.error = error

    def text(self, name: str, default: str | None = None) -> str | None:
        """As given (a secret keeps its spaces); unset or empty is ``default``."""
        return self.env.get(name) or default

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list, blanks dropped."""
        return tuple(part.strip() for part in self.env.get(name, "").split(",") if part.strip())

    def flag(self, name: str, default: bool) -> bool:
        raw = self.env.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in TRUE or raw in FALSE:
            return raw in TRUE
        raise self.error(f"{name}={raw!r} is not a boolean", hint=f"set {name} to true or false")

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        value = self._parsed(name, int, "an integer")
        if value is None:
            return default
        if value < minimum:
            raise self.error(f"{name}={value} is too small", hint=f"set {name} to at least {minimum}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self._parsed(name, float, "a number")
        if value is None:
            return default
        if not low <= value <= high:
            hint = f"set {name} to a value in [{low}, {high}]"
            raise self.error(f"{name}={value} is out of range", hint=hint)
        return value

    def _parsed(self, name: str, convert: Callable[[str], Number], what: str) -> Number | None:
        raw = self.env.get(name, "").strip()
        if not raw:
            return None
        try:
            return convert(raw)
        except ValueError as exc:
            raise self.error(f"{name}={raw!r} is not {what}", hint=f"set {name} to a number") from exc
