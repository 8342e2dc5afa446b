"""Cleanup: delete all but the newest versions of a model, never one an alias points at.

Deletion is two-phase: rows are marked ``deleting`` in one transaction, then each artifact is removed
and its row marked ``deleted``. A crash in between is finished by the next cleanup.
"""

from __future__ import annotations

from sqlalchemy import select, update

from mlpy.audit import append_entry
from mlpy.registry.artifacts import delete_artifact
from mlpy.registry.errors import InvalidInputError
from mlpy.registry.queries import aliases_of, find_model
from mlpy.registry.records import CleanupPlan
from mlpy.registry.registration import recover
from mlpy.registry.tables import DELETED, DELETING, LIVE, ModelVersionRow
from mlpy.store import Store, utcnow


def gc(store: Store, name: str, *, keep: int, dry_run: bool = False) -> CleanupPlan:
    """Delete all but the ``keep`` newest versions; a version an alias points at is never deleted."""
    if keep < 0:
        raise InvalidInputError(f"--keep must be 0 or more, got {keep}")
    with store.session() as session:
        model = find_model(session, name, lock=True)
        aliases = aliases_of(session, [model.id])[model.id]
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
            append_entry(
                session,
                "registry.gc",
                name,
                from_value=_versions(live),
                to_value=_versions(kept + list(protected)),
                reason=f"keep the {keep} newest versions and those an alias points at",
                detail={"deleted": sorted(doomed), "protected": {str(v): a for v, a in protected.items()}},
            )
    if not dry_run:
        finish_deletions(store, name)
        recover(store)
    return CleanupPlan(name, dry_run, sorted(doomed), sorted(kept + list(protected)), protected)


def _versions(numbers: list[int]) -> str:
    """Live versions as the log shows them: ``1,2,5``, or ``-`` for none."""
    return ",".join(map(str, sorted(numbers))) or "-"


def finish_deletions(store: Store, name: str) -> None:
    """Remove the artifacts of versions marked for deletion; a crash here is finished by the next gc."""
    with store.session() as session:
        model = find_model(session, name)
        rows = list(
            session.execute(
                select(ModelVersionRow.id, ModelVersionRow.artifact_uri).where(
                    ModelVersionRow.model_id == model.id, ModelVersionRow.status == DELETING
                )
            )
        )
    for row_id, uri in rows:
        delete_artifact(uri)
        with store.session() as session:
            session.execute(
                update(ModelVersionRow).where(ModelVersionRow.id == row_id).values(status=DELETED)
            )
