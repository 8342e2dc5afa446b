"""Each check's summary lands in the metadata store, and the tables match the migration."""

from __future__ import annotations

import pandas as pd
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mlpy.drift import check
from mlpy.drift.records import history, record
from mlpy.store import Base, open_store


def test_checks_are_recorded_newest_first(
    store_url: str, reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    first = record(check(reference_frame, reference_frame), store=store_url, dataset="credit")
    second = record(check(reference_frame, drifted_frame), store=store_url, dataset="credit")
    record(check(reference_frame, reference_frame), store=store_url, dataset="other")
    rows = history(store=store_url, dataset="credit")
    assert [row["id"] for row in rows] == [second, first]
    assert rows[0]["dataset_drift"] is True
    assert rows[1]["dataset_drift"] is False
    assert rows[0]["features"]["age"]["method"] == "ks"
    assert rows[0]["features"]["age"]["drifted"] is True
    assert rows[0]["features"]["income"]["null_share"] == 0.1
    assert len(history(store=store_url, limit=2)) == 2


def test_drift_tables_match_the_migration(store_url: str) -> None:
    store = open_store(store_url)
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [entry for entry in diff if "drift" in repr(entry)]
    assert ours == []
