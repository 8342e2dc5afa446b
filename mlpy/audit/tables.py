"""Audit tables: the entries, and the one row that holds the chain's head (its lock serialises appends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlpy.store import Base, UTCDateTime

# SQLite only maps INTEGER PRIMARY KEY to its row id; PostgreSQL needs 64 bits for a long-lived log.
Seq = BigInteger().with_variant(Integer(), "sqlite")
#: The id of the single head row.
HEAD_ID = 1


class AuditEntryRow(Base):
    """One recorded action. ``seq`` is assigned under the head's lock (never by the database), so the
    chain has neither gaps nor forks; ``hash`` covers every other field and the previous entry's hash."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(256), index=True)
    from_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    to_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The newest entry's number and hash: the row every append locks, and what ``verify`` checks the
    last entry against (so deleting the newest entries is found too)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
