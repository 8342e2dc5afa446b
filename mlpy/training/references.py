"""What a version keeps beside its model artifacts: the drift reference, so a drift check finds what it
was trained on, and a search's trials, so every candidate's parameters and scores outlive the run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mlpy.drift import DriftProfile
from mlpy.registry import ArtifactStore


def store_profile(profile: DriftProfile, artifacts: ArtifactStore, model: str) -> str:
    """Write ``profile`` next to ``model``'s artifacts (a folder or an object store); returns its URI."""
    uri = artifacts.new_uri(f"{model}-reference", "reference.npz")
    with tempfile.TemporaryDirectory(prefix="mlpy-ref-") as tmp:
        written = profile.save(Path(tmp) / "reference.npz")
        artifacts.write(uri, Path(written).read_bytes())
    return uri


def store_trials(trials: list[dict[str, Any]], artifacts: ArtifactStore, model: str) -> str:
    """Write a search's trials (parameters, metrics, seconds, node) as JSON next to ``model``'s
    artifacts; returns its URI."""
    uri = artifacts.new_uri(f"{model}-trials", "trials.json")
    artifacts.write(uri, json.dumps(trials, indent=1, default=str).encode())
    return uri
