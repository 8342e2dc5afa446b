"""Reading a job's data (CSV or Parquet, from a path, s3:// or https:// through fsspec) with the SHA-256
of the bytes read, so the version's lineage names exactly what it was trained on."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from mlpy.registry import RegistryError, read_artifact
from mlpy.training.errors import TrainingDataError

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class LoadedInput:
    name: str
    uri: str
    sha256: str
    frame: Any  # a pandas DataFrame

    @property
    def rows(self) -> int:
        return len(self.frame)


def check_readable_kind(uri: str) -> str:
    """The format a URI's suffix names; anything else is refused before any byte is read."""
    suffix = PurePosixPath(uri.split("?", 1)[0]).suffix.lower()
    kind = SUFFIXES.get(suffix)
    if kind is None:
        raise TrainingDataError(
            f"data {uri!r} is neither CSV nor Parquet", hint="name a .csv, .parquet or .pq file"
        )
    return kind


def load_input(name: str, uri: str) -> LoadedInput:
    kind = check_readable_kind(uri)
    try:
        content = read_artifact(uri)
    except RegistryError as exc:
        raise TrainingDataError(f"cannot read data {name} ({uri}): {exc}") from exc
    import pandas as pd

    try:
        reader = pd.read_csv if kind == "csv" else pd.read_parquet
        frame = reader(io.BytesIO(content))
    except Exception as exc:
        raise TrainingDataError(
            f"data {name} ({uri}) is not readable {kind}: {type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from exc
    return LoadedInput(name, uri, hashlib.sha256(content).hexdigest(), frame)


def load_inputs(data: dict[str, str]) -> dict[str, LoadedInput]:
    for uri in data.values():
        check_readable_kind(uri)
    return {name: load_input(name, uri) for name, uri in data.items()}
