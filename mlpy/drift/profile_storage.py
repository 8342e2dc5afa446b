"""The profile's file: one NumPy ``.npz`` with a JSON header, at a path or a URL, never unpickled.

Kept apart from the profile's contents (profile.py) so the format version and its checks live in one
place: what a profile holds changes with the checks, how it is stored rarely does.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import numpy as np
import orjson

from mlpy import __version__
from mlpy.drift.errors import ProfileFormatError
from mlpy.drift.locations import fetch, is_remote, local_path, upload

FORMAT = "mlpy-drift-profile"
FORMAT_VERSION = 1


def write_profile(target: str, header: dict[str, Any], arrays: dict[str, Any]) -> str:
    """Store ``arrays`` and ``header`` (with the format added) at ``target``; returns where it went."""
    if not target.endswith(".npz"):
        target += ".npz"
    stamped = {"format": FORMAT, "format_version": FORMAT_VERSION, "mlpy_version": __version__, **header}
    stored = {**arrays, "header": np.frombuffer(orjson.dumps(stamped), dtype=np.uint8)}
    buffer = io.BytesIO()
    np.savez(buffer, **stored)
    if is_remote(target):
        upload(target, buffer.getvalue())
        return target
    path = local_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
    except OSError as exc:
        raise ProfileFormatError(
            f"cannot write {target!r}: {exc.strerror or exc}", hint="check the path"
        ) from exc
    return target


def read_profile(source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the arrays of the profile at ``source``, after checking its format version."""
    if is_remote(source):
        content = fetch(source)
    else:
        path = local_path(source)
        if not path.is_file():
            raise ProfileFormatError(
                f"no such profile: {source!r}", hint="create one with 'mlpy drift profile'"
            )
        content = path.read_bytes()
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        header = orjson.loads(arrays.pop("header").tobytes())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, orjson.JSONDecodeError) as exc:
        raise ProfileFormatError(
            f"{source!r} is not a drift profile",
            hint="create one with 'mlpy drift profile --reference FILE --out PROFILE'",
        ) from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ProfileFormatError(f"{source!r} is not a drift profile")
    if header.get("format_version") != FORMAT_VERSION:
        raise ProfileFormatError(
            f"profile {source!r} has format version {header.get('format_version')}, "
            f"this mlpy reads version {FORMAT_VERSION}",
            hint="re-create the profile from the reference data with this mlpy",
        )
    return header, arrays
