"""Experiments: the weights an admin set by hand on one router replica, for every replica.

Revision ID: 0009_experiment_weights
Revises: 0006_experiment_feedback
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mlpy.store.base import UTCDateTime

revision: str = "0009_experiment_weights"
down_revision: str | Sequence[str] | None = "0006_experiment_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment_weights",
        sa.Column("experiment", sa.String(length=128), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("basis", sa.String(length=64), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("experiment", name=op.f("pk_experiment_weights")),
    )


def downgrade() -> None:
    op.drop_table("experiment_weights")
