"""Model registry: immutable versions with SHA-256 integrity, lineage, audited aliases and cleanup."""

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
from mlpy.registry.names import parse_model_id, parse_ref
from mlpy.registry.records import (
    AliasChange,
    CleanupPlan,
    Comparison,
    ModelSummary,
    ModelVersion,
    Page,
    Verification,
)
from mlpy.registry.service import ModelRegistry, load_verified

__all__ = [
    "AliasChange",
    "AliasError",
    "ArtifactError",
    "ArtifactFormat",
    "ArtifactIntegrityError",
    "CleanupPlan",
    "Comparison",
    "InvalidInputError",
    "ModelNotFoundError",
    "ModelRegistry",
    "ModelSummary",
    "ModelVersion",
    "Page",
    "RegistryError",
    "UntrustedFormatError",
    "Verification",
    "VersionNotFoundError",
    "load_verified",
    "parse_model_id",
    "parse_ref",
]
