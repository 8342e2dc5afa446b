"""The audit log's face: append, read, verify and export, over one metadata store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from mlpy.audit.chain import AuditEntry, Verification, check_chain
from mlpy.audit.errors import InvalidQueryError, MissingHeadError
from mlpy.audit.exporting import check_format, write_entries
from mlpy.audit.reading import Filter, in_order, newest, parse_instant
from mlpy.audit.tables import HEAD_ID, AuditHeadRow
from mlpy.audit.writing import append_entry
from mlpy.config import Locations
from mlpy.store import Store, open_store


class AuditLog:
    """The append-only, hash-chained record of who did what, over the metadata store (``MLPY_STORE``
    or the embedded default when ``store`` is not given)."""

    def __init__(self, store: str | Store | None = None) -> None:
        self.store = store if isinstance(store, Store) else open_store(Locations.resolve(store).store)

    def append(
        self,
        action: str,
        subject: str,
        *,
        actor: str | None = None,
        from_value: str | int | None = None,
        to_value: str | int | None = None,
        reason: str | None = None,
        detail: Any = None,
    ) -> AuditEntry:
        """Record one action in its own transaction (code that changes the store itself appends with
        ``append_entry`` in the transaction of the change instead)."""
        with self.store.session() as session:
            return append_entry(
                session,
                action,
                subject,
                actor=actor,
                from_value=from_value,
                to_value=to_value,
                reason=reason,
                detail=detail,
            )

    def entries(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        subject: str | None = None,
        action: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Matching entries, oldest first; with ``limit``, only the newest ``limit`` of them."""
        where = _filter(since, until, subject, action)
        if limit is None:
            return list(in_order(self.store, where))
        return newest(self.store, where, limit)[::-1]

    def head(self) -> tuple[int, str]:
        """The newest entry's number and hash (0 and the genesis hash while the log is empty)."""
        with self.store.read_session() as session:
            row = session.get(AuditHeadRow, HEAD_ID)
            if row is None:
                raise MissingHeadError(
                    "the audit log has no head row: it was deleted",
                    hint="restore the database from a backup; the entries alone cannot be trusted",
                )
            return row.seq, row.hash

    def verify(self) -> Verification:
        """Recompute every hash and link; the result names the first entry that breaks the chain.

        The head is read first: entries appended while the check runs are after it and not checked.
        """
        try:
            head_seq, head_hash = self.head()
        except MissingHeadError as exc:
            return Verification(False, 0, 0, "", 1, str(exc))
        return check_chain(in_order(self.store, Filter(), up_to=head_seq), head_seq, head_hash)

    def export(
        self,
        out: TextIO | str | Path,
        *,
        fmt: str = "jsonl",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        subject: str | None = None,
        action: str | None = None,
    ) -> int:
        """Write matching entries, oldest first, as ``jsonl`` or ``csv`` to a stream or a file path;
        returns how many."""
        # Read in batches, never whole: an export may be of millions of entries.
        entries = in_order(self.store, _filter(since, until, subject, action))
        check_format(fmt)
        if not isinstance(out, str | Path):
            return write_entries(entries, out, fmt)
        try:
            with Path(out).open("w", encoding="utf-8", newline="") as file:
                return write_entries(entries, file, fmt)
        except OSError as exc:
            raise InvalidQueryError(
                f"cannot write {out}: {exc.strerror or exc}", hint="pass --output a writable path"
            ) from exc


def _filter(
    since: datetime | str | None, until: datetime | str | None, subject: str | None, action: str | None
) -> Filter:
    start, end = parse_instant(since, "--since"), parse_instant(until, "--until")
    if start is not None and end is not None and end <= start:
        raise InvalidQueryError(
            f"--until ({end.isoformat()}) must be after --since ({start.isoformat()})",
            hint="swap them, or leave one out",
        )
    return Filter(start, end, subject, action)
