"""Reading the registry: versions by number, alias or ``latest``, lineage, and paged listings whose
filtering, ordering and paging all happen in SQL (a page costs the same with 10 or 10,000 versions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from mlpy.registry.errors import InvalidInputError, ModelNotFoundError, VersionNotFoundError
from mlpy.registry.names import VersionRef, check_alias, check_model_name, parse_ref
from mlpy.registry.records import Comparison, Difference, ModelSummary, ModelVersion, Page
from mlpy.registry.tables import LIVE, ModelAlias, ModelVersionRow, RegisteredModel
from mlpy.store import Store

MAX_PAGE_SIZE = 1000


def find_model(session: Session, name: str, *, lock: bool = False) -> RegisteredModel:
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


def aliases_of(session: Session, model_ids: Iterable[int]) -> dict[int, dict[int, list[str]]]:
    """For each model, its aliases by the version they point at (one query for any number of models)."""
    ids = sorted(set(model_ids))
    found: dict[int, dict[int, list[str]]] = {model_id: {} for model_id in ids}
    if ids:
        rows = session.scalars(
            select(ModelAlias).where(ModelAlias.model_id.in_(ids)).order_by(ModelAlias.alias)
        )
        for alias in rows:
            found[alias.model_id].setdefault(alias.version, []).append(alias.alias)
    return found


def find_row(session: Session, model: RegisteredModel, ref: VersionRef) -> ModelVersionRow:
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
        select(ModelVersionRow).where(ModelVersionRow.model_id == model.id, ModelVersionRow.version == number)
    )
    if row is None:
        raise VersionNotFoundError(f"model {model.name!r} has no version {number}")
    if row.status != LIVE:
        raise VersionNotFoundError(f"version {number} of {model.name!r} was deleted by cleanup")
    return row


def to_record(name: str, row: ModelVersionRow, aliases: Sequence[str]) -> ModelVersion:
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
        importance=row.importance,
        estimator=row.estimator,
        parent=parent,
        author=row.author,
        aliases=tuple(aliases),
    )


def get_version(store: Store, name: str, ref: int | str) -> ModelVersion:
    """A version by number (``3``), alias (``@production``) or ``latest``."""
    parsed = parse_ref(ref)
    with store.session() as session:
        model = find_model(session, name)
        row = find_row(session, model, parsed)
        return to_record(name, row, aliases_of(session, [model.id])[model.id].get(row.version, []))


def lineage(store: Store, name: str, ref: int | str) -> list[ModelVersion]:
    """The version and its ancestors, newest first (parents may live under other model names)."""
    chain = [get_version(store, name, ref)]
    seen = {chain[0].ref}
    while chain[-1].parent and chain[-1].parent not in seen:
        parent_name, _, number = chain[-1].parent.partition(":")
        try:
            chain.append(get_version(store, parent_name, int(number)))
        except (ModelNotFoundError, VersionNotFoundError):
            break
        seen.add(chain[-1].ref)
    return chain


def list_models(store: Store, *, page_size: int = 100, page_token: str | None = None) -> Page[ModelSummary]:
    """Models by name with their live version count, newest live version and aliases: three queries."""
    offset, size = page_offset(page_token), checked_page_size(page_size)
    live = (ModelVersionRow.model_id == RegisteredModel.id) & (ModelVersionRow.status == LIVE)
    query = (
        select(RegisteredModel, func.count(ModelVersionRow.id), func.max(ModelVersionRow.version))
        .outerjoin(ModelVersionRow, live)
        .group_by(RegisteredModel.id)
        .order_by(RegisteredModel.name)
        .offset(offset)
        .limit(size)
    )
    with store.read_session() as session:
        total = session.scalar(select(func.count(RegisteredModel.id))) or 0
        rows = session.execute(query).all()
        aliases = aliases_of(session, [model.id for model, _, _ in rows])
        items = [
            ModelSummary(
                name=model.name,
                latest_version=latest,
                versions=int(count),
                aliases=dict(sorted((a, v) for v, names in aliases[model.id].items() for a in names)),
                created_at=model.created_at,
            )
            for model, count, latest in rows
        ]
    return Page(items=items, next_page_token=next_token(offset + size, total), total=total)


def search_versions(
    store: Store,
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
    offset, size = page_offset(page_token), checked_page_size(page_size)
    query = (
        select(ModelVersionRow, RegisteredModel.name)
        .join(RegisteredModel, RegisteredModel.id == ModelVersionRow.model_id)
        .where(ModelVersionRow.status == LIVE)
    )
    if name is not None:
        query = query.where(RegisteredModel.name == check_model_name(name))
    if alias is not None:
        on_alias = (ModelAlias.model_id == ModelVersionRow.model_id) & (
            ModelAlias.version == ModelVersionRow.version
        )
        query = query.join(ModelAlias, on_alias).where(ModelAlias.alias == check_alias(alias))
    for key, value in (tags or {}).items():
        query = query.where(ModelVersionRow.tags[str(key)].as_string() == str(value))
    with store.read_session() as session:
        if name is not None:
            find_model(session, name)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(_ordered(query, order_by, descending).offset(offset).limit(size)).all()
        aliases = aliases_of(session, [row.model_id for row, _ in rows])
        items = [to_record(model, row, aliases[row.model_id].get(row.version, [])) for row, model in rows]
    return Page(items=items, next_page_token=next_token(offset + size, total), total=total)


VersionQuery = Select[ModelVersionRow, str]


def _ordered(query: VersionQuery, order_by: str, descending: bool) -> VersionQuery:
    def way(column: Any) -> Any:
        return column.desc() if descending else column.asc()

    if order_by == "version":
        return query.order_by(way(RegisteredModel.name), way(ModelVersionRow.version))
    if order_by == "created":
        return query.order_by(way(ModelVersionRow.created_at), way(ModelVersionRow.version))
    if order_by.startswith("metric:") and len(order_by) > len("metric:"):
        value = ModelVersionRow.metrics[order_by.split(":", 1)[1]].as_float()
        # Versions without the metric come last either way round; ties by model and version.
        return query.order_by(
            value.is_(None), way(value), RegisteredModel.name, ModelVersionRow.version.desc()
        )
    raise InvalidInputError(f"cannot order by {order_by!r}", hint="use version, created or metric:NAME")


def compare(store: Store, name: str, a: int | str, b: int | str) -> Comparison:
    first, second = get_version(store, name, a), get_version(store, name, b)
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


def next_token(offset: int, total: int) -> str | None:
    return str(offset) if offset < total else None


def page_offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    if not (page_token.isascii() and page_token.isdigit()):
        raise InvalidInputError(
            f"invalid page token {page_token!r}", hint="pass a token a previous page returned"
        )
    return int(page_token)


def checked_page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    return page_size
