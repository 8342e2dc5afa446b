"""Schema migrations with Alembic, run automatically and safely by concurrent processes."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every mlpy process migrating one database.
PG_MIGRATION_LOCK = 0x6D6C7079


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def upgrade_to_heads(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch; a no-op when it is already there.

    Concurrent callers serialise on a lock (SQLite's write lock, a PostgreSQL advisory lock) and
    re-read the revision under it, so exactly one of them migrates.
    """
    wanted = script_heads()
    with engine.connect() as probe:
        if current_heads(probe) == wanted:
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        if current_heads(connection) != wanted:
            command.upgrade(alembic_config(connection), "heads")
