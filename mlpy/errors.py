"""The root of every error mlpy raises on purpose.

Each package (registry, drift, experiments, ...) derives its own hierarchy from
:class:`MlpyError`, so callers can catch one package's failures, and the command
line can turn any of them into a one-line message instead of a traceback.
"""

from __future__ import annotations


class MlpyError(Exception):
    """An expected failure with a message a person can act on.

    ``hint`` says what to do next; it is appended to the message.
    """

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message


class ConfigError(MlpyError):
    """A setting (URL, path, environment variable) is missing or malformed."""


class StoreError(MlpyError):
    """The metadata store cannot be opened or migrated."""
