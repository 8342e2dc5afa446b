"""Reading the prediction log back: a time window of one model as a DataFrame, for drift and feedback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mlpy.predlog.errors import InvalidWindowError
from mlpy.predlog.tables import PredictionLogRow
from mlpy.store import Store, open_store

if TYPE_CHECKING:  # pandas takes ~0.6 s to import: the model server, which only writes, never does
    import pandas as pd

META_COLUMNS = ["request_id", "row", "model", "version", "variant", "ts", "prediction", "outcome"]


def _check_window(since: datetime, until: datetime) -> None:
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise InvalidWindowError(
                f"{name} must be timezone-aware", hint="use datetime.now(UTC) or an ISO time ending in Z"
            )
    if until <= since:
        raise InvalidWindowError(
            f"empty window: until ({until.isoformat()}) is not after since ({since.isoformat()})"
        )


def read_window(
    store: Store | str,
    model: str,
    since: datetime,
    until: datetime,
    *,
    version: str | None = None,
    with_outcome_only: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """One row per predicted instance logged for ``model`` in [since, until): metadata, then features.

    Features logged by name become their own columns; positional ones become ``x0``, ``x1``...
    ``limit`` counts requests (a batch request brings all its rows).
    """
    _check_window(since, until)
    if limit is not None and limit < 1:
        raise InvalidWindowError(f"limit must be at least 1, got {limit}")
    db = open_store(store) if isinstance(store, str) else store
    query = (
        select(PredictionLogRow)
        .where(PredictionLogRow.model == model, PredictionLogRow.ts >= since, PredictionLogRow.ts < until)
        .order_by(PredictionLogRow.ts, PredictionLogRow.id)
    )
    if version is not None:
        query = query.where(PredictionLogRow.version == str(version))
    if with_outcome_only:
        query = query.where(PredictionLogRow.outcome_at.is_not(None))
    if limit is not None:
        query = query.limit(limit)
    with db.session() as session:
        logged = list(session.scalars(query))
    meta: list[list[Any]] = []
    features: list[dict[str, Any]] = []
    for entry in logged:
        outcomes = _per_row(entry.outcome, entry.n_rows)
        for index, (values, prediction) in enumerate(zip(entry.features, entry.predictions, strict=False)):
            where = [entry.request_id, index, entry.model, entry.version, entry.variant, entry.ts]
            meta.append([*where, prediction, outcomes[index]])
            features.append(_feature_dict(values, entry.feature_names))
    import pandas as pd

    return pd.concat([pd.DataFrame(meta, columns=META_COLUMNS), pd.DataFrame(features)], axis=1)


def _per_row(outcome: Any, rows: int) -> list[Any]:
    """A batch's outcome may be one value per row (a list as long as the batch) or one for all."""
    if isinstance(outcome, list) and len(outcome) == rows and rows > 1:
        return outcome
    return [outcome] * rows


def _feature_dict(values: Any, names: list[str] | None) -> dict[str, Any]:
    if isinstance(values, dict):
        return values
    if not isinstance(values, list):
        values = [values]
    if names and len(names) == len(values):
        return dict(zip(names, values, strict=True))
    return {f"x{index}": value for index, value in enumerate(values)}


LABELLED_COLUMNS = ["request_id", "version", "variant", "ts", "prediction", "outcome"]


def read_labelled_groups(
    store: Store | str,
    model: str | None,
    since: datetime,
    until: datetime,
    *,
    version: str | None = None,
    variants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each logged instance that has both group attributes and an outcome: ``LABELLED_COLUMNS``, then
    one column per group attribute (a value missing from a request is None). What fairness reads:
    only the columns it needs, only the rows that can count. ``model`` None with ``variants``: the
    rows an experiment's router sent to those variants, whatever model they serve."""
    _check_window(since, until)
    db = open_store(store) if isinstance(store, str) else store
    table = PredictionLogRow
    query = (
        select(table.request_id, table.version, table.variant, table.ts, table.n_rows)
        .add_columns(table.predictions, table.outcome, table.groups)
        .where(table.ts >= since, table.ts < until)
        .where(table.outcome_at.is_not(None), table.groups.is_not(None))
        .order_by(table.ts, table.id)
    )
    if model is not None:
        query = query.where(table.model == model)
    if version is not None:
        query = query.where(table.version == str(version))
    if variants is not None:
        query = query.where(table.variant.in_(list(variants)))
    with db.session() as session:
        logged = session.execute(query).all()
    meta: list[list[Any]] = []
    groups: list[dict[str, Any]] = []
    for request_id, row_version, variant, ts, n_rows, predictions, outcome, attributes in logged:
        outcomes = _per_row(outcome, n_rows)
        for index, prediction in enumerate(predictions):
            meta.append([request_id, row_version, variant, ts, prediction, outcomes[index]])
            groups.append({name: _at(values, index) for name, values in (attributes or {}).items()})
    clash = sorted({name for row in groups for name in row} & set(LABELLED_COLUMNS))
    if clash:
        raise InvalidWindowError(
            f"group attribute {clash[0]!r} has the name of a prediction log column",
            hint="declare sensitive features under other names",
        )
    import pandas as pd

    frame = pd.DataFrame(meta, columns=LABELLED_COLUMNS)
    return pd.concat([frame, pd.DataFrame(groups, index=frame.index)], axis=1)


def _at(values: Any, index: int) -> Any:
    """A stored attribute is a list with one value per row; anything else counts for every row."""
    if isinstance(values, list):
        return values[index] if index < len(values) else None
    return values


def read_inputs(
    store: Store | str, model: str, since: datetime, until: datetime, *, version: str | None = None
) -> pd.DataFrame:
    """Only the model inputs of a window, one column per feature: what a drift check compares with its
    reference (the compose monitor and the DriftMonitor's CronJob both read this)."""
    frame = read_window(store, model, since, until, version=version)
    return frame.drop(columns=[c for c in META_COLUMNS if c in frame.columns])


def export_window(
    store: Store | str, model: str, since: datetime, until: datetime, path: str | Path, **filters: Any
) -> int:
    """Write a window to Parquet (``.parquet``) or CSV (anything else); returns the number of rows."""
    frame = read_window(store, model, since, until, **filters)
    target = Path(path)
    if target.suffix == ".parquet":
        frame.to_parquet(target, index=False)
    else:
        frame.to_csv(target, index=False)
    return len(frame)
