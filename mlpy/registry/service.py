"""The model registry: immutable, hash-verified versions with lineage, audited aliases and cleanup."""

from __future__ import annotations

import getpass
import math
import os
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mlpy.config import Locations
from mlpy.registry.artifacts import ArtifactStore, delete_artifact, read_artifact, sha256_hex
from mlpy.registry.errors import (
    AliasError,
    ArtifactError,
    ArtifactIntegrityError,
    InvalidInputError,
    ModelNotFoundError,
    VersionNotFoundError,
)
from mlpy.registry.formats import ArtifactFormat, dump, format_of, load, parse_format
from mlpy.registry.names import LATEST, VersionRef, check_alias, check_model_name, parse_ref
from mlpy.registry.records import (
    AliasChange,
    CleanupPlan,
    Comparison,
    Difference,
    ModelSummary,
    ModelVersion,
    Page,
    Verification,
)
from mlpy.registry.signature import estimator_name, infer_signature
from mlpy.registry.tables import AliasEvent, ModelAlias, ModelVersionRow, PendingArtifact, RegisteredModel
from mlpy.store import Store, open_store, utcnow

LIVE = "ready"
DELETING = "deleting"
DELETED = "deleted"
# A pending artifact older than this is abandoned even if its process id is alive again (pid reuse).
STALE_PENDING_AFTER = timedelta(hours=1)
MAX_PAGE_SIZE = 1000


def current_user() -> str:
    try:
        return os.environ.get("MLPY_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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


def _token(offset: int, total: int) -> str | None:
    return str(offset) if offset < total else None


def _offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    if not (page_token.isascii() and page_token.isdigit()):
        raise InvalidInputError(
            f"invalid page token {page_token!r}", hint="pass a token a previous page returned"
        )
    return int(page_token)


def _page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    return page_size


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
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        parent: int | str | None = None,
        signature: dict[str, Any] | None = None,
        input_example: Any = None,
        author: str | None = None,
        if_new: bool = False,
    ) -> ModelVersion:
        """Serialise a fitted model and register it as the model's next version.

        ``if_new``: return the newest live version holding exactly these bytes instead of adding a copy,
        so a retry after a crash (or a timeout) is safe.
        """
        check_model_name(name)
        fmt = parse_format(format)
        if not hasattr(model, "predict"):
            raise InvalidInputError(f"{type(model).__name__} has no predict(): not a model")
        return self._register_bytes(
            name,
            dump(model, fmt),
            fmt,
            estimator=estimator_name(model),
            signature=signature or infer_signature(model, input_example),
            metrics=metrics,
            params=params,
            tags=tags,
            description=description,
            parent=parent,
            author=author,
            if_new=if_new,
        )

    def register_file(
        self,
        name: str,
        path: str | Path,
        *,
        format: str | ArtifactFormat | None = None,
        trust_pickle: bool = False,
        trusted_types: Iterable[str] = (),
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        parent: int | str | None = None,
        author: str | None = None,
        if_new: bool = False,
    ) -> ModelVersion:
        """Register a serialised model file as is, after checking that it loads as a model.

        ``if_new`` as in ``register``: a file whose SHA-256 a live version already has returns that one.
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
        return self._register_bytes(
            name,
            data,
            fmt,
            estimator=estimator_name(model),
            signature=infer_signature(model),
            metrics=metrics,
            params=params,
            tags=tags,
            description=description,
            parent=parent,
            author=author,
            if_new=if_new,
        )

    def _register_bytes(
        self,
        name: str,
        data: bytes,
        fmt: ArtifactFormat,
        *,
        estimator: str | None,
        signature: dict[str, Any] | None,
        metrics: Mapping[str, float] | None,
        params: Mapping[str, Any] | None,
        tags: Mapping[str, Any] | None,
        description: str | None,
        parent: int | str | None,
        author: str | None,
        if_new: bool = False,
    ) -> ModelVersion:
        if if_new:
            existing = self._live_with_sha256(name, sha256_hex(data))
            if existing is not None:
                return existing
        clean_metrics = _check_metrics(metrics)
        clean_params = _check_scalars(params, "param")
        clean_tags = _check_scalars(tags, "tag")
        parent_model, parent_version = self._resolve_parent(name, parent)
        self.recover()
        uri = self.artifacts.new_uri(name, fmt.filename)
        pending_id = uuid.uuid4().hex
        # Journal first: a crash after the write but before the commit leaves a record that recover() uses.
        with self.store.session() as session:
            session.add(
                PendingArtifact(id=pending_id, uri=uri, hostname=socket.gethostname(), pid=os.getpid())
            )
        try:
            self.artifacts.write(uri, data)
            with self.store.session() as session:
                model_id = self._ensure_model(session, name)
                version = session.execute(
                    update(RegisteredModel)
                    .where(RegisteredModel.id == model_id)
                    .values(latest_version=RegisteredModel.latest_version + 1)
                    .returning(RegisteredModel.latest_version)
                ).scalar_one()
                row = ModelVersionRow(
                    model_id=model_id,
                    version=version,
                    status=LIVE,
                    artifact_uri=uri,
                    artifact_format=fmt.value,
                    sha256=sha256_hex(data),
                    size_bytes=len(data),
                    metrics=clean_metrics,
                    params=clean_params,
                    tags=clean_tags,
                    description=description,
                    signature=signature,
                    estimator=estimator,
                    parent_model=parent_model,
                    parent_version=parent_version,
                    author=author or current_user(),
                    created_at=utcnow(),
                )
                session.add(row)
                session.execute(delete(PendingArtifact).where(PendingArtifact.id == pending_id))
        except BaseException:
            self._abandon(pending_id, uri)
            raise
        return self._record(name, row, ())

    def _live_with_sha256(self, name: str, digest: str) -> ModelVersion | None:
        with self.store.read_session() as session:
            model = session.scalar(select(RegisteredModel).where(RegisteredModel.name == name))
            if model is None:
                return None
            row = session.scalar(
                select(ModelVersionRow)
                .where(
                    ModelVersionRow.model_id == model.id,
                    ModelVersionRow.sha256 == digest,
                    ModelVersionRow.status == LIVE,
                )
                .order_by(ModelVersionRow.version.desc())
                .limit(1)
            )
            if row is None:
                return None
            return self._record(name, row, self._aliases_of(session, model.id).get(row.version, []))

    def _abandon(self, pending_id: str, uri: str) -> None:
        """Undo a registration that failed in this process (a crash is left to recover())."""
        try:
            self.artifacts.delete(uri)
            with self.store.session() as session:
                session.execute(delete(PendingArtifact).where(PendingArtifact.id == pending_id))
        except Exception:
            return

    def recover(self, *, older_than: timedelta = STALE_PENDING_AFTER) -> list[str]:
        """Delete artifacts of registrations that died midway; returns their URIs.

        A pending entry is abandoned when its process is gone (same host) or it is older than
        ``older_than``; live registrations in other processes are left alone.
        """
        host = socket.gethostname()
        now = utcnow()
        with self.store.session() as session:
            pending = list(session.scalars(select(PendingArtifact)))
        removed = []
        for entry in pending:
            dead = entry.hostname == host and not _pid_alive(entry.pid)
            if not dead and now - entry.created_at < older_than:
                continue
            delete_artifact(entry.uri)
            with self.store.session() as session:
                session.execute(delete(PendingArtifact).where(PendingArtifact.id == entry.id))
            removed.append(entry.uri)
        return removed

    def _ensure_model(self, session: Session, name: str) -> int:
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

    def _resolve_parent(self, name: str, parent: int | str | None) -> tuple[str | None, int | None]:
        if parent is None or parent == "":
            return None, None
        parent_name, ref = name, parent
        if isinstance(parent, str) and ":" in parent:
            parent_name, _, ref = parent.partition(":")
        try:
            found = self.get_version(parent_name, ref)
        except (ModelNotFoundError, VersionNotFoundError) as exc:
            raise InvalidInputError(f"parent {parent} does not exist: {exc}") from exc
        return found.name, found.version

    # ----------------------------------------------------------------- reading
    def _model(self, session: Session, name: str, *, lock: bool = False) -> RegisteredModel:
        check_model_name(name)
        query = select(RegisteredModel).where(RegisteredModel.name == name)
        if lock:
            query = query.with_for_update()
        model = session.scalar(query)
        if model is None:
            raise ModelNotFoundError(
                f"no model named {name!r}", hint="see 'mlpy registry list' for registered models"
            )
        return model

    def _aliases_of(self, session: Session, model_id: int) -> dict[int, list[str]]:
        by_version: dict[int, list[str]] = {}
        for alias in session.scalars(select(ModelAlias).where(ModelAlias.model_id == model_id)):
            by_version.setdefault(alias.version, []).append(alias.alias)
        return {version: sorted(names) for version, names in by_version.items()}

    def _row(self, session: Session, model: RegisteredModel, ref: VersionRef) -> ModelVersionRow:
        number = ref.number
        if ref.is_latest:
            number = session.scalar(
                select(func.max(ModelVersionRow.version)).where(
                    ModelVersionRow.model_id == model.id, ModelVersionRow.status == LIVE
                )
            )
            if number is None:
                raise VersionNotFoundError(f"model {model.name!r} has no versions")
        elif ref.alias is not None:
            alias = session.get(ModelAlias, (model.id, ref.alias))
            if alias is None:
                raise VersionNotFoundError(
                    f"model {model.name!r} has no alias {ref.alias!r}",
                    hint=f"promote one: mlpy registry promote {model.name} VERSION --alias {ref.alias}",
                )
            number = alias.version
        row = session.scalar(
            select(ModelVersionRow).where(
                ModelVersionRow.model_id == model.id, ModelVersionRow.version == number
            )
        )
        if row is None:
            raise VersionNotFoundError(f"model {model.name!r} has no version {number}")
        if row.status != LIVE:
            raise VersionNotFoundError(f"version {number} of {model.name!r} was deleted by cleanup")
        return row

    @staticmethod
    def _record(name: str, row: ModelVersionRow, aliases: Sequence[str]) -> ModelVersion:
        parent = f"{row.parent_model}:{row.parent_version}" if row.parent_version is not None else None
        return ModelVersion(
            name=name,
            version=row.version,
            artifact_uri=row.artifact_uri,
            format=row.artifact_format,
            sha256=row.sha256,
            size_bytes=row.size_bytes,
            created_at=row.created_at,
            metrics=dict(row.metrics or {}),
            params=dict(row.params or {}),
            tags=dict(row.tags or {}),
            description=row.description,
            signature=row.signature,
            estimator=row.estimator,
            parent=parent,
            author=row.author,
            aliases=tuple(aliases),
        )

    def get_version(self, name: str, ref: int | str) -> ModelVersion:
        """A version by number (``3``), alias (``@production``) or ``latest``."""
        parsed = parse_ref(ref)
        with self.store.session() as session:
            model = self._model(session, name)
            row = self._row(session, model, parsed)
            return self._record(name, row, self._aliases_of(session, model.id).get(row.version, []))

    def lineage(self, name: str, ref: int | str) -> list[ModelVersion]:
        """The version and its ancestors, newest first (parents may live under other model names)."""
        chain = [self.get_version(name, ref)]
        seen = {chain[0].ref}
        while chain[-1].parent and chain[-1].parent not in seen:
            parent_name, _, number = chain[-1].parent.partition(":")
            try:
                chain.append(self.get_version(parent_name, int(number)))
            except (ModelNotFoundError, VersionNotFoundError):
                break
            seen.add(chain[-1].ref)
        return chain

    def list_models(self, *, page_size: int = 100, page_token: str | None = None) -> Page[ModelSummary]:
        offset, size = _offset(page_token), _page_size(page_size)
        with self.store.session() as session:
            total = session.scalar(select(func.count(RegisteredModel.id))) or 0
            models = session.scalars(
                select(RegisteredModel).order_by(RegisteredModel.name).offset(offset).limit(size)
            )
            items = []
            for model in models:
                live = session.execute(
                    select(func.count(ModelVersionRow.id), func.max(ModelVersionRow.version)).where(
                        ModelVersionRow.model_id == model.id, ModelVersionRow.status == LIVE
                    )
                ).one()
                aliases = {
                    a.alias: a.version
                    for a in session.scalars(select(ModelAlias).where(ModelAlias.model_id == model.id))
                }
                items.append(
                    ModelSummary(
                        name=model.name,
                        latest_version=live[1],
                        versions=int(live[0]),
                        aliases=dict(sorted(aliases.items())),
                        created_at=model.created_at,
                    )
                )
        return Page(items=items, next_page_token=_token(offset + size, total), total=total)

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
        """Live versions, filtered by model, tags and alias, ordered by version, creation time or a metric."""
        offset, size = _offset(page_token), _page_size(page_size)
        query = (
            select(ModelVersionRow, RegisteredModel.name)
            .join(RegisteredModel, RegisteredModel.id == ModelVersionRow.model_id)
            .where(ModelVersionRow.status == LIVE)
        )
        if name is not None:
            query = query.where(RegisteredModel.name == check_model_name(name))
        if alias is not None:
            query = query.join(
                ModelAlias,
                (ModelAlias.model_id == ModelVersionRow.model_id)
                & (ModelAlias.version == ModelVersionRow.version),
            ).where(ModelAlias.alias == check_alias(alias))
        with self.store.session() as session:
            if name is not None:
                self._model(session, name)
            rows = session.execute(query).all()
            aliases: dict[int, dict[int, list[str]]] = {}
            matches = []
            for row, model_name in rows:
                if tags and any(str(row.tags.get(k)) != str(v) for k, v in tags.items()):
                    continue
                if row.model_id not in aliases:
                    aliases[row.model_id] = self._aliases_of(session, row.model_id)
                matches.append(self._record(model_name, row, aliases[row.model_id].get(row.version, [])))
        matches.sort(key=self._sort_key(order_by), reverse=descending)
        return Page(
            items=matches[offset : offset + size],
            next_page_token=_token(offset + size, len(matches)),
            total=len(matches),
        )

    @staticmethod
    def _sort_key(order_by: str) -> Any:
        if order_by == "version":
            return lambda v: (v.name, v.version)
        if order_by == "created":
            return lambda v: (v.created_at, v.version)
        if order_by.startswith("metric:") and len(order_by) > len("metric:"):
            metric = order_by.split(":", 1)[1]
            # Versions without the metric sort last either way round.
            return lambda v: (metric in v.metrics, v.metrics.get(metric, 0.0))
        raise InvalidInputError(f"cannot order by {order_by!r}", hint="use version, created or metric:NAME")

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
        check_alias(alias)
        parsed = parse_ref(ref)
        with self.store.session() as session:
            model = self._model(session, name, lock=True)
            target = self._row(session, model, parsed).version
            return self._move_alias(session, model, alias, target, "promote", reason, actor)

    def rollback(
        self, name: str, *, alias: str = "production", reason: str | None = None, actor: str | None = None
    ) -> AliasChange:
        """Point ``alias`` back at the version it held before its latest promotion (repeatable)."""
        check_alias(alias)
        with self.store.session() as session:
            model = self._model(session, name, lock=True)
            events = session.scalars(
                select(AliasEvent)
                .where(AliasEvent.model_id == model.id, AliasEvent.alias == alias)
                .order_by(AliasEvent.id.desc())
            )
            undone = 0
            target: int | None = None
            found = False
            for event in events:
                if event.action == "rollback":
                    undone += 1
                elif event.action == "promote":
                    if undone:
                        undone -= 1
                        continue
                    target, found = event.from_version, True
                    break
            if not found or target is None:
                raise AliasError(
                    f"alias {alias!r} of {name!r} has no earlier version to roll back to",
                    hint=f"see 'mlpy registry history {name}'",
                )
            row = session.scalar(
                select(ModelVersionRow).where(
                    ModelVersionRow.model_id == model.id, ModelVersionRow.version == target
                )
            )
            if row is None or row.status != LIVE:
                raise AliasError(
                    f"cannot roll {alias!r} back to version {target}: it was deleted",
                    hint=f"promote another version: mlpy registry promote {name} VERSION --alias {alias}",
                )
            return self._move_alias(session, model, alias, target, "rollback", reason, actor)

    def _move_alias(
        self,
        session: Session,
        model: RegisteredModel,
        alias: str,
        target: int,
        action: str,
        reason: str | None,
        actor: str | None,
    ) -> AliasChange:
        now = utcnow()
        current = session.get(ModelAlias, (model.id, alias))
        previous = current.version if current else None
        if current is None:
            session.add(ModelAlias(model_id=model.id, alias=alias, version=target, updated_at=now))
        else:
            current.version, current.updated_at = target, now
        event = AliasEvent(
            model_id=model.id,
            alias=alias,
            action=action,
            from_version=previous,
            to_version=target,
            actor=actor or current_user(),
            reason=reason,
            at=now,
        )
        session.add(event)
        return AliasChange(model.name, alias, action, previous, target, event.actor, reason, now)

    def history(self, name: str, *, alias: str | None = None) -> list[AliasChange]:
        """Every alias change of a model, oldest first."""
        with self.store.session() as session:
            model = self._model(session, name)
            query = select(AliasEvent).where(AliasEvent.model_id == model.id).order_by(AliasEvent.id)
            if alias is not None:
                query = query.where(AliasEvent.alias == check_alias(alias))
            return [
                AliasChange(name, e.alias, e.action, e.from_version, e.to_version, e.actor, e.reason, e.at)
                for e in session.scalars(query)
            ]

    # ----------------------------------------------------------------- compare and cleanup
    def compare(self, name: str, a: int | str, b: int | str) -> Comparison:
        first, second = self.get_version(name, a), self.get_version(name, b)
        metrics = {
            key: Difference(
                first.metrics.get(key),
                second.metrics.get(key),
                (second.metrics[key] - first.metrics[key])
                if key in first.metrics and key in second.metrics
                else None,
            )
            for key in sorted(set(first.metrics) | set(second.metrics))
        }
        params = {
            key: Difference(first.params.get(key), second.params.get(key))
            for key in sorted(set(first.params) | set(second.params))
            if first.params.get(key) != second.params.get(key)
        }
        return Comparison(name, first.version, second.version, metrics, params, first.sha256 == second.sha256)

    def gc(self, name: str, *, keep: int, dry_run: bool = False) -> CleanupPlan:
        """Delete all but the ``keep`` newest versions; a version an alias points at is never deleted."""
        if keep < 0:
            raise InvalidInputError(f"--keep must be 0 or more, got {keep}")
        with self.store.session() as session:
            model = self._model(session, name, lock=True)
            aliases = self._aliases_of(session, model.id)
            live = list(
                session.scalars(
                    select(ModelVersionRow.version)
                    .where(ModelVersionRow.model_id == model.id, ModelVersionRow.status == LIVE)
                    .order_by(ModelVersionRow.version.desc())
                )
            )
            kept = live[:keep]
            protected = {v: aliases[v] for v in live[keep:] if v in aliases}
            doomed = [v for v in live[keep:] if v not in protected]
            if not dry_run and doomed:
                session.execute(
                    update(ModelVersionRow)
                    .where(ModelVersionRow.model_id == model.id, ModelVersionRow.version.in_(doomed))
                    .values(status=DELETING, deleted_at=utcnow())
                )
        if not dry_run:
            self._finish_deletions(name)
            self.recover()
        return CleanupPlan(name, dry_run, sorted(doomed), sorted(kept + list(protected)), protected)

    def _finish_deletions(self, name: str) -> None:
        """Remove the artifacts of versions marked for deletion; a crash here is finished by the next gc."""
        with self.store.session() as session:
            model = self._model(session, name)
            rows = list(
                session.execute(
                    select(ModelVersionRow.id, ModelVersionRow.artifact_uri).where(
                        ModelVersionRow.model_id == model.id, ModelVersionRow.status == DELETING
                    )
                )
            )
        for row_id, uri in rows:
            delete_artifact(uri)
            with self.store.session() as session:
                session.execute(
                    update(ModelVersionRow).where(ModelVersionRow.id == row_id).values(status=DELETED)
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
