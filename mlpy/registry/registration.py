"""Registering a version: the artifact journal that makes a crash at any point recoverable.

Journal first (a ``pending_artifacts`` row), then the bytes, then one transaction that numbers the
version and deletes the journal entry. A process that dies in between leaves an entry that
:func:`recover` finds: its artifact is deleted and no version ever points at it.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mlpy.audit import append_entry, current_actor
from mlpy.registry.artifacts import ArtifactStore, delete_artifact, sha256_hex
from mlpy.registry.errors import InvalidInputError, ModelNotFoundError, VersionNotFoundError
from mlpy.registry.formats import ArtifactFormat
from mlpy.registry.queries import aliases_of, get_version, to_record
from mlpy.registry.records import ModelVersion
from mlpy.registry.tables import LIVE, ModelVersionRow, PendingArtifact, RegisteredModel
from mlpy.store import Store, utcnow

# A pending artifact older than this is abandoned even if its process id is alive again (pid reuse).
STALE_PENDING_AFTER = timedelta(hours=1)


class RegistrationOptions(TypedDict, total=False):
    """What ``register`` and ``register_file`` take besides the model: one set, checked once.

    ``metrics``, ``params``, ``tags`` (kept as strings, as in MLflow; params keep their JSON types),
    ``description``, ``parent`` (a version of this model or ``name:version``) and ``author`` are
    recorded as given. ``if_new``: return the newest live version holding exactly these bytes instead of
    adding a copy, so a retry after a crash (or a timeout) is safe. ``compile``: record in
    ``mlpy.compiled*`` tags whether the model compiles (ONNX Runtime or treelite) and agrees with
    scikit-learn (the compiled extra; see mlpy.compiled). ``intended_use`` and ``limitations``: free
    text the model card shows. ``sensitive_features``: the group attributes its requests may carry
    for fairness monitoring (the ``mlpy.fairness.groups`` tag). ``validation=(X, y)``: store the
    permutation importance of each feature on (a sample of) it, which drift checks weigh features by;
    ``importance={feature: mean}``: store a precomputed one.
    """

    metrics: Mapping[str, float] | None
    params: Mapping[str, Any] | None
    tags: Mapping[str, Any] | None
    description: str | None
    parent: int | str | None
    author: str | None
    if_new: bool
    compile: bool
    intended_use: str | None
    limitations: str | None
    sensitive_features: Iterable[str]
    validation: tuple[Any, Any] | None
    importance: Mapping[str, Any] | None


@dataclass(frozen=True)
class VersionDetails:
    """What a person says about a new version; checked once, whichever way it is registered."""

    metrics: Mapping[str, float] | None = None
    params: Mapping[str, Any] | None = None
    tags: Mapping[str, Any] | None = None
    description: str | None = None
    parent: int | str | None = None
    author: str | None = None
    # Set by the registry from the model itself.
    estimator: str | None = field(default=None, compare=False)
    signature: dict[str, Any] | None = field(default=None, compare=False)
    importance: dict[str, dict[str, float]] | None = field(default=None, compare=False)


def current_user() -> str:
    """Who is acting (``MLPY_USER``, else the login): the audit log's notion, shared."""
    return current_actor()


def write_version(
    store: Store,
    artifacts: ArtifactStore,
    name: str,
    data: bytes,
    fmt: ArtifactFormat,
    details: VersionDetails,
    *,
    if_new: bool = False,
) -> ModelVersion:
    """The model's next version holding ``data``; with ``if_new``, the newest live one that already does."""
    digest = sha256_hex(data)
    if if_new:
        existing = _live_with_sha256(store, name, digest)
        if existing is not None:
            return existing
    metrics = _check_metrics(details.metrics)
    params = _check_scalars(details.params, "param")
    tags = {
        key: None if value is None else str(value)
        for key, value in _check_scalars(details.tags, "tag").items()
    }
    parent_model, parent_version = _resolve_parent(store, name, details.parent)
    recover(store)
    uri = artifacts.new_uri(name, fmt.filename)
    pending_id = uuid.uuid4().hex
    # Journal first: a crash after the write but before the commit leaves a record that recover() uses.
    with store.session() as session:
        session.add(PendingArtifact(id=pending_id, uri=uri, hostname=socket.gethostname(), pid=os.getpid()))
    try:
        artifacts.write(uri, data)
        with store.session() as session:
            model_id = _ensure_model(session, name)
            version = session.execute(
                update(RegisteredModel)
                .where(RegisteredModel.id == model_id)
                .values(latest_version=RegisteredModel.latest_version + 1)
                .returning(RegisteredModel.latest_version)
            ).scalar_one()
            # The update holds the model's row until commit, so of two concurrent retries the second
            # sees the first's version here.
            if if_new and _live_sha256_row(session, model_id, digest) is not None:
                raise _AlreadyRegisteredError
            row = ModelVersionRow(
                model_id=model_id,
                version=version,
                status=LIVE,
                artifact_uri=uri,
                artifact_format=fmt.value,
                sha256=digest,
                size_bytes=len(data),
                metrics=metrics,
                params=params,
                tags=tags,
                description=details.description,
                signature=details.signature,
                importance=details.importance,
                estimator=details.estimator,
                parent_model=parent_model,
                parent_version=parent_version,
                author=details.author or current_user(),
                created_at=utcnow(),
            )
            session.add(row)
            session.execute(delete(PendingArtifact).where(PendingArtifact.id == pending_id))
            append_entry(
                session,
                "registry.register",
                name,
                to_value=version,
                reason=details.description,
                detail={
                    "author": row.author,
                    "sha256": digest,
                    "format": fmt.value,
                    "parent": _parent_ref(parent_model, parent_version),
                },
            )
    except _AlreadyRegisteredError:
        _abandon(store, artifacts, pending_id, uri)
        existing = _live_with_sha256(store, name, digest)
        if existing is None:  # deleted in between: a plain retry registers it afresh
            return write_version(store, artifacts, name, data, fmt, details, if_new=False)
        return existing
    except BaseException:
        _abandon(store, artifacts, pending_id, uri)
        raise
    return to_record(name, row, ())


class _AlreadyRegisteredError(Exception):
    """Another registration of the same bytes committed first (``if_new``): roll this one back."""


def recover(store: Store, *, older_than: timedelta = STALE_PENDING_AFTER) -> list[str]:
    """Delete artifacts of registrations that died midway; returns their URIs.

    A pending entry is abandoned when its process is gone (same host) or it is older than
    ``older_than``; live registrations in other processes are left alone.
    """
    host = socket.gethostname()
    now = utcnow()
    with store.session() as session:
        pending = list(session.scalars(select(PendingArtifact)))
    removed = []
    for entry in pending:
        dead = entry.hostname == host and not _pid_alive(entry.pid)
        if not dead and now - entry.created_at < older_than:
            continue
        delete_artifact(entry.uri)
        with store.session() as session:
            session.execute(delete(PendingArtifact).where(PendingArtifact.id == entry.id))
        removed.append(entry.uri)
    return removed


def _live_with_sha256(store: Store, name: str, digest: str) -> ModelVersion | None:
    with store.read_session() as session:
        model = session.scalar(select(RegisteredModel).where(RegisteredModel.name == name))
        if model is None:
            return None
        row = _live_sha256_row(session, model.id, digest)
        if row is None:
            return None
        return to_record(name, row, aliases_of(session, [model.id])[model.id].get(row.version, []))


def _live_sha256_row(session: Session, model_id: int, digest: str) -> ModelVersionRow | None:
    return session.scalar(
        select(ModelVersionRow)
        .where(
            ModelVersionRow.model_id == model_id,
            ModelVersionRow.sha256 == digest,
            ModelVersionRow.status == LIVE,
        )
        .order_by(ModelVersionRow.version.desc())
        .limit(1)
    )


def _abandon(store: Store, artifacts: ArtifactStore, pending_id: str, uri: str) -> None:
    """Undo a registration that failed in this process (a crash is left to recover())."""
    try:
        artifacts.delete(uri)
        with store.session() as session:
            session.execute(delete(PendingArtifact).where(PendingArtifact.id == pending_id))
    except Exception:
        return


def _ensure_model(session: Session, name: str) -> int:
    values = {"name": name, "latest_version": 0, "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(RegisteredModel).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(RegisteredModel).values(values).on_conflict_do_nothing())
    elif session.scalar(select(RegisteredModel.id).where(RegisteredModel.name == name)) is None:
        session.add(RegisteredModel(**values))
        session.flush()
    return int(session.scalar(select(RegisteredModel.id).where(RegisteredModel.name == name)) or 0)


def _resolve_parent(store: Store, name: str, parent: int | str | None) -> tuple[str | None, int | None]:
    if parent is None or parent == "":
        return None, None
    parent_name, ref = name, parent
    if isinstance(parent, str) and ":" in parent:
        parent_name, _, ref = parent.partition(":")
    try:
        found = get_version(store, parent_name, ref)
    except (ModelNotFoundError, VersionNotFoundError) as exc:
        raise InvalidInputError(f"parent {parent} does not exist: {exc}") from exc
    return found.name, found.version


def _parent_ref(model: str | None, version: int | None) -> str | None:
    return None if model is None or version is None else f"{model}:{version}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    clean: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(f"metric {key!r} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise InvalidInputError(f"metric {key!r} must be finite, got {value!r}")
        clean[str(key)] = float(value)
    return clean


def _check_scalars(values: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if value is not None and not isinstance(value, str | int | float | bool):
            value = str(value)
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        if not str(key):
            raise InvalidInputError(f"{what} names must not be empty")
        clean[str(key)] = value
    return clean
