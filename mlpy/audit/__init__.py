"""Audit trail: one append-only, hash-chained log of who did what (registry moves, experiment
weights and conclusions, drift verdicts, the operator's Service switches), verifiable and exportable.

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.audit.chain import GENESIS, AuditEntry, Verification, canonical, check_chain, check_copy
    from mlpy.audit.errors import (
        AuditError,
        InvalidEntryError,
        InvalidQueryError,
        MissingHeadError,
    )
    from mlpy.audit.exporting import FORMATS, verify_export
    from mlpy.audit.log import AuditLog
    from mlpy.audit.reading import parse_instant
    from mlpy.audit.writing import acting_as, append_entry, current_actor

__all__ = [
    "FORMATS",
    "GENESIS",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "InvalidEntryError",
    "InvalidQueryError",
    "MissingHeadError",
    "Verification",
    "acting_as",
    "append_entry",
    "canonical",
    "check_chain",
    "check_copy",
    "current_actor",
    "parse_instant",
    "verify_export",
]

_HOMES = {
    "FORMATS": "mlpy.audit.exporting",
    "GENESIS": "mlpy.audit.chain",
    "AuditEntry": "mlpy.audit.chain",
    "AuditError": "mlpy.audit.errors",
    "AuditLog": "mlpy.audit.log",
    "InvalidEntryError": "mlpy.audit.errors",
    "InvalidQueryError": "mlpy.audit.errors",
    "MissingHeadError": "mlpy.audit.errors",
    "Verification": "mlpy.audit.chain",
    "acting_as": "mlpy.audit.writing",
    "append_entry": "mlpy.audit.writing",
    "canonical": "mlpy.audit.chain",
    "check_chain": "mlpy.audit.chain",
    "check_copy": "mlpy.audit.chain",
    "current_actor": "mlpy.audit.writing",
    "parse_instant": "mlpy.audit.reading",
    "verify_export": "mlpy.audit.exporting",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)
