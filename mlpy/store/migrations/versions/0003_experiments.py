"""Experiments: definitions and shared per-variant sufficient statistics.

Revision ID: 0003_experiments
Revises: 0001_registry
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mlpy.store.base import UTCDateTime

revision: str = "0003_experiments"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("experiments",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("winner", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_experiments")),
    )
    op.create_table(
        "experiment_variant_stats",
        sa.Column("experiment", sa.String(length=128), nullable=False),
        sa.Column("variant", sa.String(length=128), nullable=False),
        sa.Column("assigned", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("total_sq", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("experiment", "variant", name=op.f("pk_experiment_variant_stats")),
    )


def downgrade() -> None:
    op.drop_table("experiment_variant_stats")
    op.drop_table("experiments")
