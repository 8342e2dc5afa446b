"""Drift: the history of drift checks.

Revision ID: 0002_drift
Revises: 0001_registry
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mlpy.store.base import UTCDateTime

revision: str = "0002_drift"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("drift",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset", sa.String(length=128), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("current", sa.Text(), nullable=True),
        sa.Column("reference_rows", sa.BigInteger(), nullable=False),
        sa.Column("current_rows", sa.BigInteger(), nullable=False),
        sa.Column("columns", sa.Integer(), nullable=False),
        sa.Column("drifted_columns", sa.Integer(), nullable=False),
        sa.Column("drift_share", sa.Float(), nullable=False),
        sa.Column("drift_share_threshold", sa.Float(), nullable=False),
        sa.Column("dataset_drift", sa.Boolean(), nullable=False),
        sa.Column("correction", sa.String(length=16), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_checks")),
    )
    op.create_index(op.f("ix_drift_checks_dataset"), "drift_checks", ["dataset"])
    op.create_index(op.f("ix_drift_checks_created_at"), "drift_checks", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_drift_checks_created_at"), table_name="drift_checks")
    op.drop_index(op.f("ix_drift_checks_dataset"), table_name="drift_checks")
    op.drop_table("drift_checks")
