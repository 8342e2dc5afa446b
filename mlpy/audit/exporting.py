"""Export formats: JSON Lines (one entry per line, verifiable on its own) and CSV for spreadsheets."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

from mlpy.audit.chain import AuditEntry, Verification, check_copy
from mlpy.audit.errors import InvalidQueryError

FORMATS = ("jsonl", "csv")
COLUMNS = ("seq", "at", "actor", "action", "subject", "from", "to", "reason", "detail", "prev_hash", "hash")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidQueryError(f"unknown export format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    return fmt


def write_entries(entries: Iterable[AuditEntry], out: TextIO, fmt: str) -> int:
    """Write ``entries`` to ``out`` as ``jsonl`` or ``csv``; returns how many were written."""
    check_format(fmt)
    count = 0
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    for entry in entries:
        data = entry.to_dict()
        if writer is None:
            out.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            detail = data["detail"]
            writer.writerow({**data, "detail": "" if detail is None else json.dumps(detail, sort_keys=True)})
        count += 1
    return count


def verify_export(path: str | Path) -> Verification:
    """Check a JSON Lines export on its own, without the database: every hash and link in it. Export
    a period (``--since``/``--until``) or the whole log; a subject or action filter leaves gaps."""
    return check_copy(read_export(Path(path)))


def read_export(path: Path) -> Iterator[AuditEntry]:
    try:
        with path.open(encoding="utf-8") as file:
            for number, line in enumerate(file, start=1):
                if line.strip():
                    yield _parsed(line, number, path)
    except OSError as exc:
        raise InvalidQueryError(
            f"cannot read {path}: {exc.strerror or exc}", hint="pass an export file"
        ) from exc


def _parsed(line: str, number: int, path: Path) -> AuditEntry:
    try:
        data = json.loads(line)
        return AuditEntry(
            seq=int(data["seq"]),
            at=datetime.fromisoformat(data["at"]),
            actor=data["actor"],
            action=data["action"],
            subject=data["subject"],
            from_value=data["from"],
            to_value=data["to"],
            reason=data["reason"],
            detail=data["detail"],
            prev_hash=data["prev_hash"],
            hash=data["hash"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidQueryError(
            f"line {number} of {path} is not an exported audit entry ({type(exc).__name__}: {exc})",
            hint="export one with 'mlpy audit export --format jsonl'",
        ) from exc
