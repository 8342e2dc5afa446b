"""Prediction log: the group attributes (declared sensitive features) sent with each request, for fairness.

Revision ID: 0012_fairness
Revises: 0005_predlog
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_fairness"
down_revision: str | Sequence[str] | None = "0005_predlog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: both SQLite and PostgreSQL add it in place, without copying the log.
    op.add_column("prediction_log", sa.Column("groups", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prediction_log") as batch:
        batch.drop_column("groups")
