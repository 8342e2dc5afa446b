"""Model registry: immutable versions with SHA-256 integrity, lineage, audited aliases and cleanup.

The names load on first use (mlpy.faces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy.registry.artifacts import ArtifactStore, filesystem, read_artifact, storage_options
    from mlpy.registry.card_fields import DRIFT_REFERENCE_TAG, INTENDED_USE_TAG, LIMITATIONS_TAG
    from mlpy.registry.errors import (
        AliasError,
        ArtifactError,
        ArtifactIntegrityError,
        InvalidInputError,
        ModelNotFoundError,
        RegistryError,
        UntrustedFormatError,
        VersionNotFoundError,
    )
    from mlpy.registry.formats import ArtifactFormat
    from mlpy.registry.manifest import model_version_manifest
    from mlpy.registry.names import check_model_name, parse_model_id, parse_ref
    from mlpy.registry.records import (
        AliasChange,
        CleanupPlan,
        Comparison,
        ModelSummary,
        ModelVersion,
        Page,
        Verification,
    )
    from mlpy.registry.registration import RegistrationOptions
    from mlpy.registry.sensitive import (
        SENSITIVE_FEATURES_TAG,
        check_sensitive_features,
        sensitive_features,
    )
    from mlpy.registry.service import ModelRegistry, load_verified
    from mlpy.registry.signature import (
        NUMERIC_TYPES,
        infer_signature,
        selects_columns_by_name,
        takes_named_columns,
        text_categories,
        verification_rows,
    )

__all__ = [
    "DRIFT_REFERENCE_TAG",
    "INTENDED_USE_TAG",
    "LIMITATIONS_TAG",
    "NUMERIC_TYPES",
    "SENSITIVE_FEATURES_TAG",
    "AliasChange",
    "AliasError",
    "ArtifactError",
    "ArtifactFormat",
    "ArtifactIntegrityError",
    "ArtifactStore",
    "CleanupPlan",
    "Comparison",
    "InvalidInputError",
    "ModelNotFoundError",
    "ModelRegistry",
    "ModelSummary",
    "ModelVersion",
    "Page",
    "RegistrationOptions",
    "RegistryError",
    "UntrustedFormatError",
    "Verification",
    "VersionNotFoundError",
    "check_model_name",
    "check_sensitive_features",
    "filesystem",
    "infer_signature",
    "load_verified",
    "model_version_manifest",
    "parse_model_id",
    "parse_ref",
    "read_artifact",
    "selects_columns_by_name",
    "sensitive_features",
    "storage_options",
    "takes_named_columns",
    "text_categories",
    "verification_rows",
]

_HOMES = {
    "DRIFT_REFERENCE_TAG": "mlpy.registry.card_fields",
    "INTENDED_USE_TAG": "mlpy.registry.card_fields",
    "LIMITATIONS_TAG": "mlpy.registry.card_fields",
    "NUMERIC_TYPES": "mlpy.registry.signature",
    "SENSITIVE_FEATURES_TAG": "mlpy.registry.sensitive",
    "AliasChange": "mlpy.registry.records",
    "AliasError": "mlpy.registry.errors",
    "ArtifactError": "mlpy.registry.errors",
    "ArtifactFormat": "mlpy.registry.formats",
    "ArtifactIntegrityError": "mlpy.registry.errors",
    "ArtifactStore": "mlpy.registry.artifacts",
    "CleanupPlan": "mlpy.registry.records",
    "Comparison": "mlpy.registry.records",
    "InvalidInputError": "mlpy.registry.errors",
    "ModelNotFoundError": "mlpy.registry.errors",
    "ModelRegistry": "mlpy.registry.service",
    "ModelSummary": "mlpy.registry.records",
    "ModelVersion": "mlpy.registry.records",
    "Page": "mlpy.registry.records",
    "RegistrationOptions": "mlpy.registry.registration",
    "RegistryError": "mlpy.registry.errors",
    "UntrustedFormatError": "mlpy.registry.errors",
    "Verification": "mlpy.registry.records",
    "VersionNotFoundError": "mlpy.registry.errors",
    "check_model_name": "mlpy.registry.names",
    "check_sensitive_features": "mlpy.registry.sensitive",
    "infer_signature": "mlpy.registry.signature",
    "load_verified": "mlpy.registry.service",
    "model_version_manifest": "mlpy.registry.manifest",
    "parse_model_id": "mlpy.registry.names",
    "parse_ref": "mlpy.registry.names",
    "read_artifact": "mlpy.registry.artifacts",
    "selects_columns_by_name": "mlpy.registry.signature",
    "sensitive_features": "mlpy.registry.sensitive",
    "storage_options": "mlpy.registry.artifacts",
    "filesystem": "mlpy.registry.artifacts",
    "takes_named_columns": "mlpy.registry.signature",
    "text_categories": "mlpy.registry.signature",
    "verification_rows": "mlpy.registry.signature",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)
