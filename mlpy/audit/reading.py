"""Reading entries back: filters by time, subject and action, in batches by sequence number, so an
export or a verify of millions of entries holds only one batch in memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from mlpy.audit.chain import AuditEntry
from mlpy.audit.errors import InvalidQueryError
from mlpy.audit.tables import AuditEntryRow
from mlpy.store import Store

BATCH = 1000
#: What separates a subject from its parts (``credit@production``, ``experiment/shop/ab``).
SUBJECT_PARTS = ("@", "/", ":")


def parse_instant(value: datetime | str | None, option: str = "time") -> datetime | None:
    """An ISO 8601 date or time (``2026-12-01``, ``2026-12-01T08:00:00Z``); without a zone, UTC."""
    if value is None or isinstance(value, datetime):
        found = value
    else:
        try:
            found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidQueryError(
                f"{option} {value!r} is not an ISO 8601 date or time",
                hint="use e.g. 2026-12-01 or 2026-12-01T08:00:00Z",
            ) from exc
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


@dataclass(frozen=True)
class Filter:
    """Which entries: ``since`` inclusive, ``until`` exclusive; a subject or an action also matches
    what it is the first part of (``credit`` matches ``credit@production``, ``registry`` every
    ``registry.*`` action)."""

    since: datetime | None = None
    until: datetime | None = None
    subject: str | None = None
    action: str | None = None

    def apply(self, query: Select[AuditEntryRow]) -> Select[AuditEntryRow]:
        if self.since is not None:
            query = query.where(AuditEntryRow.at >= self.since)
        if self.until is not None:
            query = query.where(AuditEntryRow.at < self.until)
        if self.subject is not None:
            query = query.where(_exact_or_prefix(AuditEntryRow.subject, self.subject, SUBJECT_PARTS))
        if self.action is not None:
            query = query.where(_exact_or_prefix(AuditEntryRow.action, self.action, (".",)))
        return query


def _exact_or_prefix(
    column: InstrumentedAttribute[str], value: str, separators: tuple[str, ...]
) -> ColumnElement[bool]:
    # substr, not LIKE: names may hold _ and %, which LIKE would read as wildcards.
    prefix = func.substr(column, 1, len(value) + 1)
    return or_(column == value, *(prefix == value + sep for sep in separators))


def to_entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        from_value=row.from_value,
        to_value=row.to_value,
        reason=row.reason,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def in_order(store: Store, where: Filter, *, up_to: int | None = None) -> Iterator[AuditEntry]:
    """Matching entries, oldest first, one batch per query (each batch its own short transaction)."""
    after = 0
    while True:
        query = where.apply(select(AuditEntryRow).where(AuditEntryRow.seq > after))
        if up_to is not None:
            query = query.where(AuditEntryRow.seq <= up_to)
        with store.read_session() as session:
            batch = [to_entry(row) for row in session.scalars(query.order_by(AuditEntryRow.seq).limit(BATCH))]
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1].seq


def newest(store: Store, where: Filter, limit: int) -> list[AuditEntry]:
    """The ``limit`` newest matching entries, newest first."""
    if limit < 1:
        raise InvalidQueryError(f"limit must be at least 1, got {limit}", hint="pass --limit 1 or more")
    query = where.apply(select(AuditEntryRow)).order_by(AuditEntryRow.seq.desc()).limit(limit)
    with store.read_session() as session:
        return [to_entry(row) for row in session.scalars(query)]
