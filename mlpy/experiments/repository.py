"""Experiments kept in the metadata store: definitions, status and the final decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mlpy.audit import append_entry
from mlpy.experiments.allocation import next_weights
from mlpy.experiments.analysis import Analysis, analyse
from mlpy.experiments.backends import StatsBackend
from mlpy.experiments.definition import ExperimentConfig, check_name
from mlpy.experiments.errors import ExperimentError, ExperimentNotFoundError
from mlpy.experiments.sql_stats import SqlStats
from mlpy.experiments.stats import VariantStats
from mlpy.experiments.tables import ExperimentRow
from mlpy.store import Store, utcnow


@dataclass(frozen=True, slots=True)
class ExperimentRecord:
    name: str
    config: ExperimentConfig
    status: str
    started_at: datetime
    ended_at: datetime | None
    decision: str | None
    winner: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "decision": self.decision,
            "winner": self.winner,
            "config": self.config.to_dict(),
        }


def _record(row: ExperimentRow) -> ExperimentRecord:
    return ExperimentRecord(
        row.name,
        ExperimentConfig.from_dict(row.config),
        row.status,
        row.started_at,
        row.ended_at,
        row.decision,
        row.winner,
    )


class ExperimentRepository:
    def __init__(self, store: Store, stats: StatsBackend | None = None) -> None:
        self.store = store
        self.stats: StatsBackend = stats or SqlStats(store)

    def create(self, name: str, config: ExperimentConfig) -> ExperimentRecord:
        check_name(name)
        try:
            with self.store.session() as session:
                row = ExperimentRow(name=name, config=config.to_dict(), status="running", started_at=utcnow())
                session.add(row)
                session.flush()
                append_entry(
                    session,
                    "experiment.start",
                    f"experiment/{name}",
                    to_value="running",
                    detail={"strategy": str(config.strategy), "variants": [v.name for v in config.variants]},
                )
                return _record(row)
        except IntegrityError as exc:
            raise ExperimentError(
                f"experiment {name!r} already exists", hint="pick another name or stop and delete it first"
            ) from exc

    def get(self, name: str) -> ExperimentRecord:
        with self.store.session() as session:
            row = session.get(ExperimentRow, name)
            if row is None:
                raise ExperimentNotFoundError(
                    f"no experiment named {name!r}", hint="see 'mlpy experiment list'"
                )
            return _record(row)

    def list(self) -> list[ExperimentRecord]:
        with self.store.session() as session:
            return [
                _record(row) for row in session.scalars(select(ExperimentRow).order_by(ExperimentRow.name))
            ]

    def analyse(self, name: str, now: datetime | None = None) -> Analysis:
        record = self.get(name)
        stats = self.stats.load(name)
        ordered = {v.name: stats.get(v.name, VariantStats()) for v in record.config.variants}
        return analyse(
            ordered,
            record.config.metric,
            record.config.stopping,
            record.started_at,
            now or utcnow(),
            control=record.config.control,
            strategy=record.config.strategy,
        )

    def current_weights(self, name: str) -> dict[str, float]:
        """The traffic split the strategy gives on the shared statistics (what routers converge to)."""
        record = self.get(name)
        config = record.config
        return next_weights(
            config.strategy,
            self.stats.load(name),
            config.metric,
            base_weights=config.weights,
            epsilon=config.epsilon,
            floor=config.floor,
            min_samples=config.stopping.min_samples_per_variant,
            seed=0,
        )

    def stop(self, name: str, analysis: Analysis | None = None) -> ExperimentRecord:
        with self.store.session() as session:
            row = session.get(ExperimentRow, name)
            if row is None:
                raise ExperimentNotFoundError(
                    f"no experiment named {name!r}", hint="see 'mlpy experiment list'"
                )
            row.status = "stopped"
            row.ended_at = utcnow()
            if analysis is not None:
                row.decision = str(analysis.decision)
                row.winner = analysis.winner
            append_entry(
                session,
                "experiment.decision",
                f"experiment/{name}",
                from_value="running",
                to_value="stopped",
                reason=None if analysis is None else f"decision {row.decision}, winner {row.winner or '-'}",
                detail=None if analysis is None else {"decision": row.decision, "winner": row.winner},
            )
            return _record(row)
