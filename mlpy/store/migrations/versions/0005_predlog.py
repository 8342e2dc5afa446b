"""Prediction log: sampled features, predictions and outcomes for drift and feedback.

Revision ID: 0005_predlog
Revises: 0001_registry
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mlpy.store.base import UTCDateTime

revision: str = "0005_predlog"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = ("predlog",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prediction_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=128), nullable=True),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("feature_names", sa.JSON(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("predictions", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("outcome_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_log")),
    )
    op.create_index(op.f("ix_prediction_log_request_id"), "prediction_log", ["request_id"])
    op.create_index("ix_prediction_log_model_ts", "prediction_log", ["model", "ts"])


def downgrade() -> None:
    op.drop_index("ix_prediction_log_model_ts", table_name="prediction_log")
    op.drop_index(op.f("ix_prediction_log_request_id"), table_name="prediction_log")
    op.drop_table("prediction_log")
