"""The hash chain: the canonical form of an entry, its SHA-256, and the check that finds a broken link.

An entry's hash is the SHA-256 of one JSON document: every field (sequence number, UTC time to the
microsecond, actor, action, subject, from, to, reason, detail) and the previous entry's hash, with
sorted keys, no whitespace and UTF-8 text. Changing any field, or removing or reordering entries,
changes a hash that a later entry (or the head) has recorded.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlpy.audit.errors import InvalidEntryError

#: The "previous hash" of the first entry.
GENESIS = "0" * 64


def canonical(fields: Mapping[str, Any]) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8, no NaN (it has no JSON form)."""
    try:
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidEntryError(
            f"an audit entry must be plain JSON: {exc}", hint="pass strings, numbers, lists and dicts"
        ) from exc
    return text.encode("utf-8")


def normalise_detail(detail: Any) -> Any:
    """The detail as the database returns it (tuples become lists, keys strings), so the hash computed
    when it is written is the hash recomputed when it is read back."""
    if detail is None:
        return None
    return json.loads(canonical({"detail": detail}))["detail"]


def timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise InvalidEntryError("an audit time must be timezone-aware", hint="use mlpy.store.utcnow()")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the log: who did what to which subject, when, from what to what, and why."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    from_value: str | None
    to_value: str | None
    reason: str | None
    detail: Any
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": timestamp(self.at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "from": self.from_value,
            "to": self.to_value,
            "reason": self.reason,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical(self.hashed_fields())).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The exported form: the hashed fields and the hash, so a copy can be verified on its own."""
        return {**self.hashed_fields(), "hash": self.hash}


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: ``first_bad_seq`` names the first entry whose link is broken."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def check_chain(entries: Iterable[AuditEntry], head_seq: int, head_hash: str) -> Verification:
    """Walk ``entries`` (in ``seq`` order, those up to ``head_seq``) and stop at the first broken link."""
    count, last_hash, broken = _walk(entries, 1, GENESIS)
    if broken is not None:
        return Verification(False, count, head_seq, head_hash, *broken)
    if count != head_seq:
        missing = count + 1
        return Verification(
            False,
            count,
            head_seq,
            head_hash,
            missing,
            f"entry {missing} is missing: the log's head is entry {head_seq}",
        )
    if last_hash != head_hash:
        problem = f"entry {head_seq} does not match the head's hash: it was replaced"
        return Verification(False, count, head_seq, head_hash, head_seq, problem)
    return Verification(True, count, head_seq, head_hash)


def check_copy(entries: Iterable[AuditEntry]) -> Verification:
    """An exported run of consecutive entries (the whole log, or a period of it): every hash and every
    link inside it. Its first entry's link to the one before cannot be checked without the log."""
    iterator = iter(entries)
    first = next(iterator, None)
    if first is None:
        return Verification(True, 0, 0, GENESIS)
    count, last_hash, broken = _walk(itertools.chain([first], iterator), first.seq, first.prev_hash)
    last_seq = first.seq + count - 1
    if broken is not None:
        return Verification(False, count, last_seq, last_hash, *broken)
    return Verification(True, count, last_seq, last_hash)


def _walk(entries: Iterable[AuditEntry], seq: int, previous: str) -> tuple[int, str, tuple[int, str] | None]:
    """How many entries from ``seq`` on chain correctly, the last good hash, and the first break."""
    count = 0
    for entry in entries:
        expected = seq + count
        if entry.seq != expected:
            return (
                count,
                previous,
                (expected, f"entry {expected} is missing (the next one is {entry.seq}): deleted"),
            )
        if entry.prev_hash != previous:
            problem = (
                f"entry {entry.seq} does not follow entry {entry.seq - 1}: "
                "an earlier entry was changed, replaced or moved"
            )
            return count, previous, (entry.seq, problem)
        if entry.computed_hash() != entry.hash:
            return count, previous, (entry.seq, f"entry {entry.seq} does not match its hash: it was edited")
        previous, count = entry.hash, count + 1
    return count, previous, None
