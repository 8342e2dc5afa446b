"""One row per predicted instance: what went in, what came out, and later what really happened."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mlpy.store import Base, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits for a busy log.
LogId = BigInteger().with_variant(Integer(), "sqlite")


class PredictionLogRow(Base):
    """One request: a batch stays one row (its features and predictions are parallel lists)."""

    __tablename__ = "prediction_log"
    __table_args__ = (Index("ix_prediction_log_model_ts", "model", "ts"),)

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    model: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str | None] = mapped_column(String(128), nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    n_rows: Mapped[int] = mapped_column(Integer)
    # Rows of values in the order of ``feature_names`` (rows sent as objects keep their names per row).
    feature_names: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    features: Mapped[Any] = mapped_column(JSON)
    predictions: Mapped[Any] = mapped_column(JSON)
    # Group attributes (the model's declared sensitive features): {name: [one value per row]}.
    groups: Mapped[dict[str, list[Any]] | None] = mapped_column(JSON, nullable=True)
    outcome: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
