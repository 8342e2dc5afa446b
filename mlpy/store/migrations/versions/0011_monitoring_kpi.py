"""Monitoring: per-minute business KPI sums (revenue, conversion, loss) per model version.

Revision ID: 0011_monitoring_kpi
Revises: 0004_monitoring
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mlpy.store.base import UTCDateTime

revision: str = "0011_monitoring_kpi"
down_revision: str | Sequence[str] | None = "0004_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitoring_kpis",
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("minute", UTCDateTime(), nullable=False),
        sa.Column("value_n", sa.BigInteger(), nullable=False),
        sa.Column("value_sum", sa.Float(), nullable=False),
        sa.Column("value_sum_sq", sa.Float(), nullable=False),
        sa.Column("value_min", sa.Float(), nullable=False),
        sa.Column("value_max", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("model", "version", "name", "minute", name=op.f("pk_monitoring_kpis")),
    )
    op.create_index(op.f("ix_monitoring_kpis_minute"), "monitoring_kpis", ["minute"])


def downgrade() -> None:
    op.drop_index(op.f("ix_monitoring_kpis_minute"), table_name="monitoring_kpis")
    op.drop_table("monitoring_kpis")
