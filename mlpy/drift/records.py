"""Storing each check's summary in the metadata store and reading the history back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mlpy.audit import append_entry
from mlpy.config import Locations
from mlpy.drift.errors import DriftError
from mlpy.drift.report import DriftReport
from mlpy.drift.tables import DriftCheckRow
from mlpy.store import open_store

SUMMARY_KEYS = ("kind", "method", "statistic", "p_value", "threshold", "drifted")


def record(report: DriftReport, *, store: str | None = None, dataset: str | None = None) -> int:
    """Append the report's summary to the history, and its verdict to the audit log in the same
    transaction (every recorded check, from the CLI, the worker or the drift job, passes here);
    returns the new row's id."""
    if dataset is not None and not 0 < len(dataset) <= 128:
        raise DriftError("a dataset name has 1 to 128 characters", hint="pass a shorter --name")
    data = report.to_dict()
    features = {
        name: {key: feature[key] for key in SUMMARY_KEYS} | {"null_share": feature["null_share"]["current"]}
        for name, feature in data["features"].items()
    }
    row = DriftCheckRow(
        dataset=dataset,
        created_at=report.created_at,
        reference=report.reference_source,
        current=report.current_source,
        reference_rows=report.reference_rows,
        current_rows=report.current_rows,
        columns=len(report.features),
        drifted_columns=len(report.drifted_features),
        drift_share=report.drift_share,
        drift_share_threshold=report.drift_share_threshold,
        dataset_drift=report.dataset_drift,
        correction=report.correction,
        duration_seconds=report.duration_seconds,
        features=features,
    )
    with open_store(Locations.resolve(store=store).store).session() as session:
        previous = None
        if dataset is not None:
            previous = session.scalar(
                select(DriftCheckRow.dataset_drift)
                .where(DriftCheckRow.dataset == dataset)
                .order_by(DriftCheckRow.id.desc())
                .limit(1)
            )
        session.add(row)
        session.flush()
        append_entry(
            session,
            "drift.verdict",
            f"drift/{dataset or report.reference_source or 'unnamed'}"[:256],
            from_value=None if previous is None else _verdict(previous),
            to_value=_verdict(report.dataset_drift),
            reason=(
                f"{len(report.drifted_features)} of {len(report.features)} columns drifted "
                f"(share {report.drift_share:.3g}, threshold {report.drift_share_threshold:g})"
            ),
            detail={
                "check": row.id,
                "current": report.current_source,
                "drifted": report.drifted_features,
                "correction": report.correction,
            },
        )
        return row.id


def _verdict(drifted: bool) -> str:
    return "drift" if drifted else "no drift"


def history(*, store: str | None = None, dataset: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The newest ``limit`` checks, newest first (of one ``dataset`` when given)."""
    if limit < 1:
        raise DriftError(f"limit must be at least 1, got {limit}", hint="pass --limit 1 or more")
    query = select(DriftCheckRow).order_by(DriftCheckRow.created_at.desc(), DriftCheckRow.id.desc())
    if dataset is not None:
        query = query.where(DriftCheckRow.dataset == dataset)
    with open_store(Locations.resolve(store=store).store).session() as session:
        rows = session.scalars(query.limit(limit)).all()
        return [_as_dict(row) for row in rows]


def _as_dict(row: DriftCheckRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "dataset": row.dataset,
        "created_at": row.created_at.isoformat(),
        "reference": row.reference,
        "current": row.current,
        "reference_rows": row.reference_rows,
        "current_rows": row.current_rows,
        "number_of_columns": row.columns,
        "number_of_drifted_columns": row.drifted_columns,
        "drift_share": row.drift_share,
        "drift_share_threshold": row.drift_share_threshold,
        "dataset_drift": row.dataset_drift,
        "correction": row.correction,
        "duration_seconds": row.duration_seconds,
        "features": row.features,
    }
