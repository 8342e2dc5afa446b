"""Appending an entry inside the caller's transaction, so an action and its entry commit together.

The head row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every writing
transaction already holds the database's write lock from ``BEGIN IMMEDIATE``), then the entry gets
the next number and the head's hash as its previous one. Two writers therefore never read the same
head: the chain has no gaps and no forks however many processes append. Append last in a
transaction, after the action's own locks, so every writer takes the locks in the same order.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlpy.audit.chain import AuditEntry, normalise_detail
from mlpy.audit.errors import InvalidEntryError, MissingHeadError
from mlpy.audit.tables import HEAD_ID, AuditEntryRow, AuditHeadRow
from mlpy.store import utcnow

LIMITS = {"actor": 256, "action": 64, "subject": 256}


_acting: ContextVar[str | None] = ContextVar("mlpy_audit_actor", default=None)


@contextmanager
def acting_as(actor: str | None) -> Iterator[None]:
    """Entries appended in this block (this thread or task) name ``actor`` unless they name their own:
    a server's request handler says whose request it is, however deep the write happens."""
    token = _acting.set(actor)
    try:
        yield
    finally:
        _acting.reset(token)


def current_actor() -> str:
    """Who is acting: the ``acting_as`` block's actor, else ``MLPY_USER`` when set (a CI job, a
    service), else the login name."""
    try:
        return _acting.get() or os.environ.get("MLPY_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def append_entry(
    session: Session,
    action: str,
    subject: str,
    *,
    actor: str | None = None,
    from_value: str | int | None = None,
    to_value: str | int | None = None,
    reason: str | None = None,
    detail: Any = None,
) -> AuditEntry:
    """Add an entry to the log in ``session``'s transaction; it commits (or not) with the caller's work."""
    who = actor or current_actor()
    for name, value in (("actor", who), ("action", action), ("subject", subject)):
        if not value or len(value) > LIMITS[name]:
            raise InvalidEntryError(f"an audit {name} has 1 to {LIMITS[name]} characters, got {value!r}")
    clean_detail = normalise_detail(detail)
    head = session.scalar(select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update())
    if head is None:
        raise MissingHeadError(
            "the audit log has no head row, so no entry can be chained",
            hint="run 'mlpy audit verify': the log was tampered with, or restore the database",
        )
    unsealed = AuditEntry(
        seq=head.seq + 1,
        at=utcnow(),
        actor=who,
        action=action,
        subject=subject,
        from_value=None if from_value is None else str(from_value),
        to_value=None if to_value is None else str(to_value),
        reason=reason,
        detail=clean_detail,
        prev_hash=head.hash,
        hash="",
    )
    entry = replace(unsealed, hash=unsealed.computed_hash())
    session.add(
        AuditEntryRow(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            from_value=entry.from_value,
            to_value=entry.to_value,
            reason=entry.reason,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    return entry
