"""The schema's newest revisions, known without importing Alembic.

A process whose database is already migrated (nearly every start) then reads one row and goes on,
instead of paying ~0.3 s to import Alembic and load the migration scripts. ``HEADS`` must name what
Alembic computes from ``migrations/versions``: tests/unit/store/test_store.py fails the moment a new
migration is added without updating it, and when they disagree the full check runs anyway.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

HEADS = frozenset(
    {
        "0007_drift_correction_names",
        "0009_experiment_weights",
        "0014_training_runs",
        "0011_monitoring_kpi",
        "0010_audit",
        "0012_fairness",
        "0013_registry_importance",
    }
)
VERSION_TABLE = "alembic_version"


def at_heads(engine: Engine) -> bool:
    """Whether the database already holds exactly ``HEADS`` (no table yet means no)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return False
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return {row[0] for row in rows} == HEADS
