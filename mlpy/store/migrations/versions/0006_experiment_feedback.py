"""Experiments: the key routers sign request ids with, and the feedback already counted.

Revision ID: 0006_experiment_feedback
Revises: 0003_experiments
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mlpy.store.base import UTCDateTime

revision: str = "0006_experiment_feedback"
down_revision: str | Sequence[str] | None = "0003_experiments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment_keys",
        sa.Column("experiment", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("experiment", name=op.f("pk_experiment_keys")),
    )
    op.create_table(
        "experiment_feedback",
        sa.Column("experiment", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("experiment", "request_id", name=op.f("pk_experiment_feedback")),
    )


def downgrade() -> None:
    op.drop_table("experiment_feedback")
    op.drop_table("experiment_keys")
