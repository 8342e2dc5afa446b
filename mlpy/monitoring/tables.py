"""Monitoring tables: per-minute aggregates per model version, latency histogram bins, KPIs, alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlpy.store import Base, UTCDateTime, utcnow


class MinuteBucket(Base):
    """Sums, not events: a week of traffic is ~10k rows per version however busy the model is."""

    __tablename__ = "monitoring_buckets"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_sum: Mapped[float] = mapped_column(Float, default=0.0)
    latency_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)
    latency_max: Mapped[float] = mapped_column(Float, default=0.0)
    prediction_n: Mapped[int] = mapped_column(BigInteger, default=0)
    prediction_sum: Mapped[float] = mapped_column(Float, default=0.0)
    prediction_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)
    outcome_n: Mapped[int] = mapped_column(BigInteger, default=0)
    # Numeric (regression) outcomes only; class-label outcomes count towards accuracy alone.
    error_n: Mapped[int] = mapped_column(BigInteger, default=0)
    abs_error_sum: Mapped[float] = mapped_column(Float, default=0.0)
    sq_error_sum: Mapped[float] = mapped_column(Float, default=0.0)
    correct: Mapped[int] = mapped_column(BigInteger, default=0)


class LatencyBin(Base):
    """One non-empty bin of a minute's latency histogram (edges in mlpy.monitoring.histogram)."""

    __tablename__ = "monitoring_latency_bins"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    bin: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class PredictionLabel(Base):
    """How often a classifier predicted each label in a minute: the prediction distribution of classifiers."""

    __tablename__ = "monitoring_prediction_labels"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    label: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertRow(Base):
    """One alert episode: opened when a rule starts firing, updated (not duplicated) while it fires."""

    __tablename__ = "monitoring_alerts"
    __table_args__ = (Index("ix_monitoring_alerts_fingerprint_state", "fingerprint", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="firing")
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class KpiBucket(Base):
    """A business KPI's minute (revenue, conversion, loss) per model version: sums, so replicas add."""

    __tablename__ = "monitoring_kpis"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    value_n: Mapped[int] = mapped_column(BigInteger, default=0)
    value_sum: Mapped[float] = mapped_column(Float, default=0.0)
    value_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)
    value_min: Mapped[float] = mapped_column(Float, default=0.0)
    value_max: Mapped[float] = mapped_column(Float, default=0.0)
