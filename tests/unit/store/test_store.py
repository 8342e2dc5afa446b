"""The metadata store: migrations agree with the table classes, and opening is idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, inspect, select, update

from mlpy.errors import StoreError
from mlpy.store import Base, Store, open_store
from mlpy.store.base import load_table_modules
from mlpy.store.engine import normalise_url, redact
from mlpy.store.migrate import current_heads, script_heads


def test_migrations_create_exactly_the_declared_tables(store_url: str) -> None:
    """Fails when a package changes its tables without a migration (or the other way round)."""
    load_table_modules()
    store = open_store(store_url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
        assert current_heads(connection) == script_heads()
        assert set(Base.metadata.tables) <= set(inspect(connection).get_table_names())


def test_the_known_heads_are_the_scripts_heads(tmp_path: Path) -> None:
    """The shortcut that skips Alembic on an up-to-date database names exactly Alembic's heads, and
    a database behind them is still migrated."""
    from sqlalchemy import text

    from mlpy.store.heads import HEADS, at_heads

    assert script_heads() == HEADS
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    assert not at_heads(store.engine)  # empty: no version table
    store.migrate()
    assert at_heads(store.engine)
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version WHERE version_num = '0005_predlog'"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('0001_registry')"))
    assert not at_heads(store.engine)
    store.dispose()


def test_every_branch_starts_at_the_registry_root() -> None:
    from alembic.script import ScriptDirectory

    from mlpy.store.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_bases() == ["0001_registry"]


def test_open_store_is_cached_and_migrates_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}"
    first = open_store(url)
    assert open_store(url) is first
    assert (tmp_path / "nested" / "dir" / "x.db").exists()
    fresh = Store(url)
    fresh.migrate()  # already at head: a no-op
    fresh.dispose()


def test_urls_are_normalised_and_redacted() -> None:
    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    assert "secret" not in redact("postgresql+psycopg://u:secret@h/db")


def test_bad_store_urls_raise_store_errors() -> None:
    with pytest.raises(StoreError, match="cannot open"):
        Store("nosuchdb://x")
    with pytest.raises(StoreError, match="cannot reach") as caught:
        Store("postgresql://u:secret@127.0.0.1:1/db").migrate()
    assert "secret" not in str(caught.value)


def test_a_read_session_sees_committed_rows_beside_an_open_writer_and_keeps_nothing(store_url: str) -> None:
    from mlpy.experiments.tables import VariantStatsRow

    store = open_store(store_url)
    with store.session() as session:
        session.add(VariantStatsRow(experiment="e", variant="a", n=1))
    with store.session() as writer:
        writer.execute(update(VariantStatsRow).values(n=VariantStatsRow.n + 1))
        # Same thread, second connection: on SQLite a read that took the write lock would wait it out.
        with store.read_session() as reader:
            row = reader.scalars(select(VariantStatsRow)).one()
    assert row.n == 1  # what was committed when it read, still readable after the session
    with store.read_session() as reader:
        reader.add(VariantStatsRow(experiment="e", variant="b", n=1))
        reader.execute(delete(VariantStatsRow).where(VariantStatsRow.variant == "a"))
    with store.read_session() as reader:
        assert [(r.variant, r.n) for r in reader.scalars(select(VariantStatsRow))] == [("a", 2)]


def test_tags_of_other_types_become_strings_when_the_registry_migrates(tmp_path: Path) -> None:
    """Migration 0008: a tag registered as a number or a boolean reads back as the string it filters by."""
    from alembic import command
    from sqlalchemy import text

    from mlpy.store.migrate import alembic_config

    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    with store.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001_registry")
        connection.execute(
            text("INSERT INTO registered_models (name, latest_version, created_at) VALUES ('m', 1, '2026')")
        )
        connection.execute(
            text(
                "INSERT INTO model_versions (model_id, version, status, artifact_uri, artifact_format,"
                " sha256, size_bytes, metrics, params, tags, created_at)"
                " VALUES (1, 1, 'ready', 'x', 'skops', :sha, 1, '{}', '{}', :tags, '2026-01-01')"
            ),
            {"sha": "a" * 64, "tags": '{"fold": 3, "ok": true, "team": "risk", "none": null}'},
        )
    store.migrate()
    with store.engine.connect() as connection:
        tags = connection.execute(text("SELECT tags FROM model_versions")).scalar_one()
    assert json.loads(tags) == {"fold": "3", "ok": "True", "team": "risk", "none": None}
    store.dispose()
