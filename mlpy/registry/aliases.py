"""Aliases (``production``, ``staging``...) and their append-only audit log: who moved which alias,
when, from which version to which, and why. A rollback is itself a logged move."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlpy.audit import append_entry
from mlpy.registry.errors import AliasError
from mlpy.registry.names import check_alias, parse_ref
from mlpy.registry.queries import find_model, find_row
from mlpy.registry.records import AliasChange
from mlpy.registry.registration import current_user
from mlpy.registry.tables import LIVE, AliasEvent, ModelAlias, ModelVersionRow, RegisteredModel
from mlpy.store import Store, utcnow


def promote(
    store: Store, name: str, ref: int | str, *, alias: str, reason: str | None, actor: str | None
) -> AliasChange:
    """Point ``alias`` at a version; the move is appended to the audit log."""
    check_alias(alias)
    parsed = parse_ref(ref)
    with store.session() as session:
        model = find_model(session, name, lock=True)
        target = find_row(session, model, parsed).version
        return _move(session, model, alias, target, "promote", reason, actor)


def rollback(store: Store, name: str, *, alias: str, reason: str | None, actor: str | None) -> AliasChange:
    """Point ``alias`` back at the version it held before its latest promotion (repeatable)."""
    check_alias(alias)
    with store.session() as session:
        model = find_model(session, name, lock=True)
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
        return _move(session, model, alias, target, "rollback", reason, actor)


def history(store: Store, name: str, *, alias: str | None = None) -> list[AliasChange]:
    """Every alias change of a model, oldest first."""
    with store.session() as session:
        model = find_model(session, name)
        query = select(AliasEvent).where(AliasEvent.model_id == model.id).order_by(AliasEvent.id)
        if alias is not None:
            query = query.where(AliasEvent.alias == check_alias(alias))
        return [
            AliasChange(name, e.alias, e.action, e.from_version, e.to_version, e.actor, e.reason, e.at)
            for e in session.scalars(query)
        ]


def _move(
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
    append_entry(
        session,
        f"registry.{action}",
        f"{model.name}@{alias}",
        actor=event.actor,
        from_value=previous,
        to_value=target,
        reason=reason,
    )
    return AliasChange(model.name, alias, action, previous, target, event.actor, reason, now)
