"""Export formats: JSON Lines (one entry per line, verifiable on its own) and CSV for spreadsheets."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from mlpy.audit.chain import AuditEntry
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
