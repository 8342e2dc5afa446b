"""Registry errors: each says what went wrong and what to do next."""

from __future__ import annotations

from mlpy.errors import MlpyError


class RegistryError(MlpyError):
    """Any registry failure."""


class InvalidInputError(RegistryError):
    """A name, reference, alias or value the registry cannot accept."""


class ModelNotFoundError(RegistryError):
    """No registered model has that name."""


class VersionNotFoundError(RegistryError):
    """The model has no such version (or alias)."""


class AliasError(RegistryError):
    """An alias cannot be moved, rolled back or deleted as asked."""


class ArtifactError(RegistryError):
    """The artifact cannot be read or written."""


class ArtifactIntegrityError(ArtifactError):
    """The artifact's bytes do not match the SHA-256 recorded at registration."""

    exit_code = 3

    def __init__(self, uri: str, expected: str, actual: str) -> None:
        super().__init__(
            f"artifact {uri} failed its integrity check: expected sha256 {expected}, got {actual}",
            hint="the file was changed after registration; restore it or register a new version",
        )
        self.uri = uri
        self.expected = expected
        self.actual = actual


class UntrustedFormatError(RegistryError):
    """Loading would run arbitrary code (pickle, joblib, or untrusted types in a skops file)."""
