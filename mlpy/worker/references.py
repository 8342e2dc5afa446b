"""Drift references kept beside the model artifacts, so the monitor finds what a version was trained on."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from mlpy.drift import DriftError, DriftProfile
from mlpy.registry import DRIFT_REFERENCE_TAG as REFERENCE_TAG
from mlpy.registry import ArtifactStore, RegistryError, read_artifact
from mlpy.training import store_profile
from mlpy.worker.errors import ReferenceUnavailableError

__all__ = ["REFERENCE_TAG", "load_reference", "save_profile"]
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def save_profile(profile: DriftProfile, artifacts_root: str, model: str) -> str:
    """Write the profile next to the model's artifacts (local folder or object store); returns its URI."""
    try:
        return store_profile(profile, ArtifactStore(artifacts_root), model)
    except RegistryError as exc:
        raise ReferenceUnavailableError(f"cannot store the drift reference: {exc}") from exc


def load_reference(uri: str, features: list[str] | None = None) -> DriftProfile:
    """A stored profile (.npz) or reference data (CSV, Parquet) from any location fsspec opens."""
    suffix = PurePosixPath(uri.split("?", 1)[0]).suffix.lower()
    if suffix != ".npz" and suffix not in TABLE_SUFFIXES:
        raise ReferenceUnavailableError(
            f"reference {uri!r} is neither a profile (.npz) nor data (.csv, .parquet)",
            hint="point the reference at a drift profile or at the training data",
        )
    try:
        data = read_artifact(uri)
    except RegistryError as exc:
        raise ReferenceUnavailableError(f"cannot read the drift reference {uri}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="mlpy-ref-") as tmp:
        local = Path(tmp) / f"reference{suffix}"
        local.write_bytes(data)
        try:
            if suffix == ".npz":
                return DriftProfile.load(local)
            from mlpy.drift import read_table

            table: Any = read_table(local, features)
            return DriftProfile.from_data(table, columns=features, source=uri)
        except DriftError as exc:
            raise ReferenceUnavailableError(f"drift reference {uri} is unusable: {exc}") from exc
