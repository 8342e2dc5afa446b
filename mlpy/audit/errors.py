"""Audit log errors: each says what went wrong and what to do next."""

from __future__ import annotations

from mlpy.errors import MlpyError


class AuditError(MlpyError):
    """Any failure of ``mlpy.audit``."""


class InvalidEntryError(AuditError):
    """An entry the log cannot keep: a field too long, a detail that is not JSON."""


class InvalidQueryError(AuditError):
    """A filter or an export option the log cannot use (a malformed --since, an unknown format)."""


class MissingHeadError(AuditError):
    """The row that holds the chain's newest hash is gone: the log was tampered with or not migrated."""
