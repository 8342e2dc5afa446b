"""ModelVersion manifests for ``kubectl apply`` or a GitOps repository, built from registry records."""

from __future__ import annotations

import re
from typing import Any

from mlpy.registry.records import ModelVersion
from mlpy.registry.sensitive import sensitive_features

API_VERSION = "mlpy.io/v1alpha1"
STAGES = ("production", "staging")


def dns_name(text: str) -> str:
    """A Kubernetes object name (RFC 1123 label) derived from a model name."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return (name or "model")[:50].rstrip("-")


def stage_of(version: ModelVersion) -> str:
    """``production`` or ``staging`` when the version holds that alias, else ``none``."""
    return next((stage for stage in STAGES if stage in version.aliases), "none")


def model_version_manifest(
    version: ModelVersion,
    *,
    namespace: str | None = None,
    stage: str | None = None,
    replicas: int = 1,
) -> dict[str, Any]:
    model = dns_name(version.name)
    metadata: dict[str, Any] = {
        "name": f"{model}-v{version.version}",
        "labels": {
            "app.kubernetes.io/name": model,
            "app.kubernetes.io/part-of": "mlpy",
            "mlpy.io/model": model,
            "mlpy.io/version": str(version.version),
        },
    }
    if namespace:
        metadata["namespace"] = namespace
    spec: dict[str, Any] = {
        "model": model,
        "version": version.version,
        "artifact": {"uri": version.artifact_uri, "sha256": version.sha256, "format": version.format},
        "stage": stage or stage_of(version),
        "replicas": replicas,
    }
    declared = sensitive_features(version.tags)
    if declared:
        # The server then accepts exactly these group attributes beside the features.
        spec["serving"] = {"sensitiveFeatures": list(declared)}
    return {"apiVersion": API_VERSION, "kind": "ModelVersion", "metadata": metadata, "spec": spec}
