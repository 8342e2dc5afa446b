"""Shared statistics in the metadata store, updated with atomic in-database increments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from mlpy.audit import append_entry
from mlpy.experiments.errors import StatsBackendError
from mlpy.experiments.signing import new_signing_key
from mlpy.experiments.stats import PublishedWeights, VariantStats
from mlpy.experiments.tables import ExperimentKeyRow, FeedbackClaimRow, PublishedWeightsRow, VariantStatsRow
from mlpy.store import Store, open_store, utcnow


class SqlStats:
    """``UPDATE ... SET n = n + :dn`` per variant in one transaction: concurrent flushes add up exactly."""

    def __init__(self, store: Store | str) -> None:
        self.store = open_store(store) if isinstance(store, str) else store

    def add(self, experiment: str, deltas: Mapping[str, VariantStats]) -> None:
        deltas = {name: d for name, d in deltas.items() if not d.is_empty}
        if not deltas:
            return
        insert = self._insert()
        row = VariantStatsRow
        now = utcnow()
        try:
            with self.store.session() as session:
                # Sorted so two writers lock rows in the same order (no deadlock on PostgreSQL).
                for name in sorted(deltas):
                    d = deltas[name]
                    session.execute(
                        insert(row)
                        .values(
                            experiment=experiment,
                            variant=name,
                            assigned=0,
                            expected=0.0,
                            n=0,
                            total=0.0,
                            total_sq=0.0,
                            updated_at=now,
                        )
                        .on_conflict_do_nothing()
                    )
                    session.execute(
                        update(row)
                        .where(row.experiment == experiment, row.variant == name)
                        .values(
                            assigned=row.assigned + d.assigned,
                            expected=row.expected + d.expected,
                            n=row.n + d.n,
                            total=row.total + d.total,
                            total_sq=row.total_sq + d.total_sq,
                            updated_at=now,
                        )
                    )
        except SQLAlchemyError as exc:
            raise StatsBackendError(
                f"cannot update statistics of experiment {experiment!r}: {exc}",
                hint="check that the metadata store is reachable",
            ) from exc

    def load(self, experiment: str) -> dict[str, VariantStats]:
        try:
            # A read session: the operator's evaluations never queue behind the routers' flushes.
            with self.store.read_session() as session:
                rows = session.scalars(
                    select(VariantStatsRow).where(VariantStatsRow.experiment == experiment)
                ).all()
        except SQLAlchemyError as exc:
            raise StatsBackendError(
                f"cannot read statistics of experiment {experiment!r}: {exc}",
                hint="check that the metadata store is reachable",
            ) from exc
        return {
            row.variant: VariantStats(row.assigned, row.expected, row.n, row.total, row.total_sq)
            for row in rows
        }

    def clear(self, experiment: str) -> None:
        with self.store.session() as session:
            session.execute(delete(VariantStatsRow).where(VariantStatsRow.experiment == experiment))
            session.execute(delete(FeedbackClaimRow).where(FeedbackClaimRow.experiment == experiment))
            # The row stays with no weights: revisions only grow, whatever a replica last adopted.
            session.execute(
                update(PublishedWeightsRow)
                .where(PublishedWeightsRow.experiment == experiment)
                .values(basis="", weights={}, reason="", updated_at=utcnow())
            )

    def _insert(self) -> Any:
        return pg_insert if self.store.dialect == "postgresql" else sqlite_insert

    def signing_key(self, experiment: str) -> str:
        try:
            with self.store.session() as session:
                session.execute(
                    self._insert()(ExperimentKeyRow)
                    .values(experiment=experiment, key=new_signing_key(), created_at=utcnow())
                    .on_conflict_do_nothing()
                )
            with self.store.read_session() as session:
                key = session.scalar(
                    select(ExperimentKeyRow.key).where(ExperimentKeyRow.experiment == experiment)
                )
        except SQLAlchemyError as exc:
            raise StatsBackendError(
                f"cannot read the signing key of experiment {experiment!r}: {exc}",
                hint="check that the metadata store is reachable",
            ) from exc
        assert key is not None
        return str(key)

    def claim_feedback(self, experiment: str, request_id: str) -> bool:
        try:
            with self.store.session() as session:
                # RETURNING, not rowcount: the row comes back only when this insert made it.
                claimed = session.execute(
                    self._insert()(FeedbackClaimRow)
                    .values(experiment=experiment, request_id=request_id, at=utcnow())
                    .on_conflict_do_nothing()
                    .returning(FeedbackClaimRow.request_id)
                ).first()
        except SQLAlchemyError as exc:
            raise StatsBackendError(
                f"cannot record feedback of experiment {experiment!r}: {exc}",
                hint="check that the metadata store is reachable",
            ) from exc
        return claimed is not None

    def publish_weights(
        self, experiment: str, weights: Mapping[str, float], basis: str, reason: str = ""
    ) -> int:
        row = PublishedWeightsRow
        try:
            with self.store.session() as session:
                session.execute(
                    self._insert()(row)
                    .values(
                        experiment=experiment,
                        revision=0,
                        basis="",
                        weights={},
                        reason="",
                        updated_at=utcnow(),
                    )
                    .on_conflict_do_nothing()
                )
                before = session.scalar(
                    select(row.weights).where(row.experiment == experiment).with_for_update()
                )
                # One statement: the revision and the weights change together, under the row's lock.
                revision = session.execute(
                    update(row)
                    .where(row.experiment == experiment)
                    .values(
                        revision=row.revision + 1,
                        basis=basis,
                        weights=dict(weights),
                        reason=reason,
                        updated_at=utcnow(),
                    )
                    .returning(row.revision)
                ).scalar_one()
                # In the same transaction: weights are never in force without their audit entry.
                append_entry(
                    session,
                    "experiment.weights",
                    f"experiment/{experiment}",
                    from_value=split_text(before) if before else None,
                    to_value=split_text(weights),
                    reason=reason or None,
                    detail={"revision": int(revision), "basis": basis},
                )
        except SQLAlchemyError as exc:
            raise StatsBackendError(
                f"cannot publish the weights of experiment {experiment!r}: {exc}",
                hint="check that the metadata store is reachable",
            ) from exc
        return int(revision)

    def published_weights(self, experiment: str) -> PublishedWeights | None:
        try:
            with self.store.read_session() as session:
                found = session.get(PublishedWeightsRow, experiment)
                if found is None or not found.weights:
                    return None
                weights = {k: float(v) for k, v in found.weights.items()}
                return PublishedWeights(int(found.revision), found.basis, weights, found.reason)
        except SQLAlchemyError as exc:
            raise StatsBackendError(
                f"cannot read the weights of experiment {experiment!r}: {exc}",
                hint="check that the metadata store is reachable",
            ) from exc


def split_text(weights: Mapping[str, float]) -> str:
    """A split as the audit log shows it: ``a=0.9 b=0.1``."""
    return " ".join(f"{name}={float(share):g}" for name, share in sorted(weights.items()))
