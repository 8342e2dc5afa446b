"""The record of each training run: created when the job is submitted, updated by whatever runs it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mlpy.store import Store, utcnow
from mlpy.training.errors import RunNotFoundError
from mlpy.training.tables import TrainingRunRow

STATES = ("queued", "running", "succeeded", "failed")
MAX_ERROR = 2_000


@dataclass(frozen=True)
class TrainingRun:
    id: str
    model: str
    backend: str
    state: str
    spec: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(timespec="seconds")

        return {
            "id": self.id,
            "model": self.model,
            "backend": self.backend,
            "state": self.state,
            "result": self.result,
            "error": self.error,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "spec": self.spec,
        }


def _record(row: TrainingRunRow) -> TrainingRun:
    return TrainingRun(
        row.id,
        row.model,
        row.backend,
        row.state,
        row.spec,
        row.result,
        row.error,
        row.created_at,
        row.started_at,
        row.finished_at,
    )


class RunLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self, spec: dict[str, Any], model: str, backend: str, run_id: str | None = None
    ) -> TrainingRun:
        row = TrainingRunRow(
            id=run_id or uuid.uuid4().hex,
            model=model,
            backend=backend,
            state="queued",
            spec=spec,
            created_at=utcnow(),
        )
        with self.store.session() as session:
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, run_id: str) -> TrainingRun:
        with self.store.read_session() as session:
            row = session.get(TrainingRunRow, run_id)
            if row is None:
                raise RunNotFoundError(
                    f"no training run {run_id!r}",
                    hint="run ids are printed by 'mlpy train run'; see 'mlpy train list'",
                )
            return _record(row)

    def list(self, model: str | None = None, limit: int = 20) -> list[TrainingRun]:
        query = select(TrainingRunRow).order_by(TrainingRunRow.created_at.desc()).limit(limit)
        if model is not None:
            query = query.where(TrainingRunRow.model == model)
        with self.store.read_session() as session:
            return [_record(row) for row in session.scalars(query)]

    def started(self, run_id: str) -> None:
        self._update(run_id, state="running", started_at=utcnow())

    def succeeded(self, run_id: str, result: dict[str, Any]) -> None:
        self._update(run_id, state="succeeded", result=result, finished_at=utcnow())

    def failed(self, run_id: str, error: str) -> None:
        self._update(run_id, state="failed", error=error[:MAX_ERROR], finished_at=utcnow())

    def _update(self, run_id: str, **values: Any) -> None:
        with self.store.session() as session:
            row = session.get(TrainingRunRow, run_id)
            if row is None:
                raise RunNotFoundError(f"no training run {run_id!r}")
            for key, value in values.items():
                setattr(row, key, value)
