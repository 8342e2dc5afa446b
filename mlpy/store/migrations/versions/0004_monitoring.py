"""Monitoring: per-minute aggregates, latency bins, predicted labels and deduplicated alerts.

Revision ID: 0004_monitoring
Revises: 0001_registry
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mlpy.store.base import UTCDateTime

revision: str = "0004_monitoring"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("monitoring",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitoring_buckets",
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("minute", UTCDateTime(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum", sa.Float(), nullable=False),
        sa.Column("latency_sum_sq", sa.Float(), nullable=False),
        sa.Column("latency_max", sa.Float(), nullable=False),
        sa.Column("prediction_n", sa.BigInteger(), nullable=False),
        sa.Column("prediction_sum", sa.Float(), nullable=False),
        sa.Column("prediction_sum_sq", sa.Float(), nullable=False),
        sa.Column("outcome_n", sa.BigInteger(), nullable=False),
        sa.Column("error_n", sa.BigInteger(), nullable=False),
        sa.Column("abs_error_sum", sa.Float(), nullable=False),
        sa.Column("sq_error_sum", sa.Float(), nullable=False),
        sa.Column("correct", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model", "version", "minute", name=op.f("pk_monitoring_buckets")),
    )
    op.create_index(op.f("ix_monitoring_buckets_minute"), "monitoring_buckets", ["minute"])
    op.create_table(
        "monitoring_latency_bins",
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("minute", UTCDateTime(), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model", "version", "minute", "bin", name=op.f("pk_monitoring_latency_bins")),
    )
    op.create_table(
        "monitoring_prediction_labels",
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("minute", UTCDateTime(), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "model", "version", "minute", "label", name=op.f("pk_monitoring_prediction_labels")
        ),
    )
    op.create_table(
        "monitoring_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alerts")),
    )
    op.create_index("ix_monitoring_alerts_fingerprint_state", "monitoring_alerts", ["fingerprint", "state"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_alerts_fingerprint_state", table_name="monitoring_alerts")
    op.drop_table("monitoring_alerts")
    op.drop_table("monitoring_prediction_labels")
    op.drop_table("monitoring_latency_bins")
    op.drop_index(op.f("ix_monitoring_buckets_minute"), table_name="monitoring_buckets")
    op.drop_table("monitoring_buckets")
