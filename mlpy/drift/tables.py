"""Drift history: one row per check, so trends can be read back without re-running anything."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlpy.store import Base, UTCDateTime, utcnow


class DriftCheckRow(Base):
    __tablename__ = "drift_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # A free label (model or dataset name) that groups the checks of one monitored stream.
    dataset: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    reference: Mapped[str | None] = mapped_column(Text, nullable=True)
    current: Mapped[str | None] = mapped_column(Text, nullable=True)
    reference_rows: Mapped[int] = mapped_column(BigInteger)
    current_rows: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[int] = mapped_column(Integer)
    drifted_columns: Mapped[int] = mapped_column(Integer)
    drift_share: Mapped[float] = mapped_column(Float)
    drift_share_threshold: Mapped[float] = mapped_column(Float)
    dataset_drift: Mapped[bool] = mapped_column(Boolean)
    correction: Mapped[str | None] = mapped_column(String(32), nullable=True)
    duration_seconds: Mapped[float] = mapped_column(Float)
    # Per column: method, statistic, p_value, threshold, drifted, null shares.
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
