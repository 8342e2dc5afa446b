"""The model registry: immutable, hash-verified versions with lineage, audited aliases and cleanup.

:class:`ModelRegistry` is the face; the work lives in one module per concern: registration (the
artifact journal), queries (versions and listings, in SQL), aliases (and their audit log), cleanup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Unpack

from mlpy.config import Locations
from mlpy.registry import aliases, cleanup, queries, registration
from mlpy.registry.artifacts import ArtifactStore, read_artifact, sha256_hex
from mlpy.registry.card_fields import card_tags
from mlpy.registry.compiling import conversion_tags
from mlpy.registry.errors import ArtifactError, ArtifactIntegrityError, InvalidInputError
from mlpy.registry.formats import ArtifactFormat, dump, format_of, load, parse_format
from mlpy.registry.importance import version_importance
from mlpy.registry.names import LATEST, check_model_name
from mlpy.registry.records import (
    AliasChange,
    CleanupPlan,
    Comparison,
    ModelSummary,
    ModelVersion,
    Page,
    Verification,
)
from mlpy.registry.registration import STALE_PENDING_AFTER, RegistrationOptions, VersionDetails
from mlpy.registry.sensitive import sensitive_features_tag
from mlpy.registry.signature import estimator_name, infer_signature, with_sample
from mlpy.store import Store, open_store


class ModelRegistry:
    """Registry over a metadata store (SQL) and an artifact root (fsspec URL).

    Both default to the embedded locations (``MLPY_STORE``/``MLPY_ARTIFACTS`` or ``MLPY_HOME``).
    """

    def __init__(self, store: str | Store | None = None, artifacts: str | None = None) -> None:
        locations = Locations.resolve(store if isinstance(store, str) else None, artifacts)
        self.store = store if isinstance(store, Store) else open_store(locations.store)
        self.artifacts = ArtifactStore(locations.artifacts)

    # ----------------------------------------------------------------- registration
    def register(
        self,
        name: str,
        model: Any,
        *,
        format: str | ArtifactFormat = ArtifactFormat.skops,
        signature: dict[str, Any] | None = None,
        input_example: Any = None,
        **options: Unpack[RegistrationOptions],
    ) -> ModelVersion:
        """Serialise a fitted model and register it as the model's next version.

        ``options`` (:class:`RegistrationOptions`) say what the version records and how it is written.
        Up to 200 rows of ``validation``'s X, else of an input example longer than the 20 rows the
        signature keeps, are stored in the signature's ``sample``: real rows every compiled model of
        this version is verified on.
        """
        check_model_name(name)
        fmt = parse_format(format)
        if not hasattr(model, "predict"):
            raise InvalidInputError(f"{type(model).__name__} has no predict(): not a model")
        signature = signature or infer_signature(model, input_example)
        if options.get("validation") is None:
            signature = with_sample(signature, input_example, validation=False)
        return registration.write_version(
            self.store,
            self.artifacts,
            name,
            dump(model, fmt),
            fmt,
            _details(model, signature, options),
            if_new=options.get("if_new", False),
        )

    def register_file(
        self,
        name: str,
        path: str | Path,
        *,
        format: str | ArtifactFormat | None = None,
        trust_pickle: bool = False,
        trusted_types: Iterable[str] = (),
        **options: Unpack[RegistrationOptions],
    ) -> ModelVersion:
        """Register a serialised model file as is, after checking that it loads as a model.

        ``options`` as in ``register``: with ``if_new``, a file whose SHA-256 a live version already has
        returns that one.
        """
        check_model_name(name)
        path = Path(path)
        fmt = parse_format(format) if format else format_of(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
        model = load(data, fmt, trust_pickle=trust_pickle, trusted_types=trusted_types)
        if not hasattr(model, "predict"):
            raise InvalidInputError(f"{path.name} holds a {type(model).__name__}, which has no predict()")
        details = _details(model, infer_signature(model), options)
        return registration.write_version(
            self.store, self.artifacts, name, data, fmt, details, if_new=options.get("if_new", False)
        )

    def recover(self, *, older_than: timedelta = STALE_PENDING_AFTER) -> list[str]:
        """Delete artifacts of registrations that died midway; returns their URIs."""
        return registration.recover(self.store, older_than=older_than)

    # ----------------------------------------------------------------- reading
    def get_version(self, name: str, ref: int | str) -> ModelVersion:
        """A version by number (``3``), alias (``@production``) or ``latest``."""
        return queries.get_version(self.store, name, ref)

    def lineage(self, name: str, ref: int | str) -> list[ModelVersion]:
        """The version and its ancestors, newest first (parents may live under other model names)."""
        return queries.lineage(self.store, name, ref)

    def list_models(self, *, page_size: int = 100, page_token: str | None = None) -> Page[ModelSummary]:
        return queries.list_models(self.store, page_size=page_size, page_token=page_token)

    def search_versions(
        self,
        name: str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        alias: str | None = None,
        order_by: str = "version",
        descending: bool = True,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Live versions, filtered by model, tags and alias, ordered by version, creation time or a
        metric (versions without it last)."""
        return queries.search_versions(
            self.store,
            name,
            tags=tags,
            alias=alias,
            order_by=order_by,
            descending=descending,
            page_size=page_size,
            page_token=page_token,
        )

    def compare(self, name: str, a: int | str, b: int | str) -> Comparison:
        return queries.compare(self.store, name, a, b)

    # ----------------------------------------------------------------- loading and integrity
    def load(
        self,
        name: str,
        ref: int | str = LATEST,
        *,
        trust_pickle: bool = False,
        trusted_types: Iterable[str] = (),
    ) -> Any:
        """The model object, after its bytes pass the SHA-256 recorded at registration."""
        return self.load_version(
            self.get_version(name, ref), trust_pickle=trust_pickle, trusted_types=trusted_types
        )

    @staticmethod
    def load_version(
        version: ModelVersion, *, trust_pickle: bool = False, trusted_types: Iterable[str] = ()
    ) -> Any:
        return load_verified(
            version.artifact_uri,
            version.sha256,
            version.format,
            trust_pickle=trust_pickle,
            trusted_types=trusted_types,
        )

    def verify(self, name: str, ref: int | str) -> Verification:
        version = self.get_version(name, ref)
        try:
            data = read_artifact(version.artifact_uri)
        except ArtifactError as exc:
            return Verification(
                name, version.version, version.artifact_uri, version.sha256, None, None, False, str(exc)
            )
        actual = sha256_hex(data)
        ok = actual == version.sha256 and len(data) == version.size_bytes
        problem = None if ok else f"expected sha256 {version.sha256}, got {actual}"
        return Verification(
            name, version.version, version.artifact_uri, version.sha256, actual, len(data), ok, problem
        )

    # ----------------------------------------------------------------- aliases
    def promote(
        self,
        name: str,
        ref: int | str,
        *,
        alias: str = "production",
        reason: str | None = None,
        actor: str | None = None,
    ) -> AliasChange:
        """Point ``alias`` at a version; the move is appended to the audit log."""
        return aliases.promote(self.store, name, ref, alias=alias, reason=reason, actor=actor)

    def rollback(
        self, name: str, *, alias: str = "production", reason: str | None = None, actor: str | None = None
    ) -> AliasChange:
        """Point ``alias`` back at the version it held before its latest promotion (repeatable)."""
        return aliases.rollback(self.store, name, alias=alias, reason=reason, actor=actor)

    def history(self, name: str, *, alias: str | None = None) -> list[AliasChange]:
        """Every alias change of a model, oldest first."""
        return aliases.history(self.store, name, alias=alias)

    # ----------------------------------------------------------------- cleanup
    def gc(self, name: str, *, keep: int, dry_run: bool = False) -> CleanupPlan:
        """Delete all but the ``keep`` newest versions; a version an alias points at is never deleted."""
        return cleanup.gc(self.store, name, keep=keep, dry_run=dry_run)


def _details(model: Any, signature: dict[str, Any] | None, options: RegistrationOptions) -> VersionDetails:
    """What both ways of registering record about a loaded model: its tags (the user's, then the
    declared sensitive features, the compilation check and the card's text), estimator, signature and
    permutation importance. The signature gains a sample of the validation rows, when given."""
    validation = options.get("validation")
    if validation is not None and isinstance(validation, tuple | list) and len(validation) == 2:
        signature = with_sample(signature, validation[0], validation=True)
    tagged = {**(options.get("tags") or {}), **sensitive_features_tag(options.get("sensitive_features", ()))}
    if options.get("compile", False):
        tagged = {**tagged, **conversion_tags(model, signature)}
    card = card_tags(options.get("intended_use"), options.get("limitations"))
    return VersionDetails(
        options.get("metrics"),
        options.get("params"),
        {**tagged, **card},
        options.get("description"),
        options.get("parent"),
        options.get("author"),
        estimator=estimator_name(model),
        signature=signature,
        importance=version_importance(model, signature, validation, options.get("importance")),
    )


def load_verified(
    uri: str,
    sha256: str,
    fmt: str | ArtifactFormat,
    *,
    trust_pickle: bool = False,
    trusted_types: Iterable[str] = (),
) -> Any:
    """Load a model from any artifact URI, refusing bytes whose SHA-256 differs from ``sha256``."""
    data = read_artifact(uri)
    actual = sha256_hex(data)
    if actual != sha256.lower():
        raise ArtifactIntegrityError(uri, sha256.lower(), actual)
    return load(data, parse_format(fmt), trust_pickle=trust_pickle, trusted_types=trusted_types)
