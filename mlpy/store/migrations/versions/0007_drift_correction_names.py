"""Drift checks: room for a correction's full name (``benjamini-hochberg``), the one vocabulary of
mlpy.corrections; checks recorded as ``bh`` are renamed.

Revision ID: 0007_drift_correction_names
Revises: 0002_drift
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_drift_correction_names"
down_revision: str | Sequence[str] | None = "0002_drift"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drift_checks") as batch:
        batch.alter_column(
            "correction",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_nullable=True,
        )
    op.execute("UPDATE drift_checks SET correction = 'benjamini-hochberg' WHERE correction = 'bh'")


def downgrade() -> None:
    op.execute("UPDATE drift_checks SET correction = 'bh' WHERE correction = 'benjamini-hochberg'")
    with op.batch_alter_table("drift_checks") as batch:
        batch.alter_column(
            "correction",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_nullable=True,
        )
