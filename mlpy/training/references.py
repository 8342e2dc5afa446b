"""Drift references kept beside the model artifacts, so a drift check finds what a version was trained on."""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlpy.drift import DriftProfile
from mlpy.registry import ArtifactStore


def store_profile(profile: DriftProfile, artifacts: ArtifactStore, model: str) -> str:
    """Write ``profile`` next to ``model``'s artifacts (a folder or an object store); returns its URI."""
    uri = artifacts.new_uri(f"{model}-reference", "reference.npz")
    with tempfile.TemporaryDirectory(prefix="mlpy-ref-") as tmp:
        written = profile.save(Path(tmp) / "reference.npz")
        artifacts.write(uri, Path(written).read_bytes())
    return uri
