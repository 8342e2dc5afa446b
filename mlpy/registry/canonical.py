"""The same fitted model always gives the same skops bytes, so its SHA-256 names it.

skops names its members after ``id()`` of the objects (or a random UUID), and zip entries carry the
time they were written: two dumps of one model differ. A retry of ``register(model, if_new=True)``
finds the version an earlier, interrupted attempt made only if the bytes are equal, so the archive is
rewritten canonically: object ids and member names numbered in the order the schema first mentions
them, members in a fixed order with a fixed timestamp. skops reads the result like any of its files.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import PurePosixPath
from typing import Any

SCHEMA = "schema.json"
# The earliest time a zip entry can carry; any fixed value would do.
EPOCH = (1980, 1, 1, 0, 0, 0)


def canonical_skops(data: bytes) -> bytes:
    """``data`` (a skops archive) with its arbitrary names and times replaced by fixed ones."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members.pop(SCHEMA))
    ids: dict[int, int] = {}
    files: dict[str, str] = {}
    renamed = _renumber(schema, ids, files)
    missing = set(members) - set(files)
    if missing:  # a member the schema never names: keep it, in name order, after the named ones
        files.update({name: f"extra-{i}-{name}" for i, name in enumerate(sorted(missing))})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as out:
        for old, new in files.items():
            if old in members:
                out.writestr(_entry(new), members[old])
        out.writestr(_entry(SCHEMA), json.dumps(renamed, indent=2))
    return buffer.getvalue()


def _renumber(node: Any, ids: dict[int, int], files: dict[str, str]) -> Any:
    """A copy of the schema with ``__id__`` values and member names numbered by first appearance."""
    if isinstance(node, list):
        return [_renumber(item, ids, files) for item in node]
    if not isinstance(node, dict):
        return node
    copy: dict[str, Any] = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int) and not isinstance(value, bool):
            copy[key] = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str):
            if value not in files:
                files[value] = f"{len(files) + 1}{PurePosixPath(value).suffix}"
            copy[key] = files[value]
        else:
            copy[key] = _renumber(value, ids, files)
    return copy


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info
