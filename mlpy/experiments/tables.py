"""Experiment tables: definitions, the shared per-variant sufficient statistics, and what routers share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mlpy.store import Base, UTCDateTime, utcnow


class ExperimentRow(Base):
    __tablename__ = "experiments"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Variants, strategy, metric and stopping rule as the CLI/operator gave them (ExperimentConfig.to_dict).
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    winner: Mapped[str | None] = mapped_column(String(128), nullable=True)


class VariantStatsRow(Base):
    """Totals updated only by ``SET n = n + :dn`` so concurrent writers never overwrite each other."""

    __tablename__ = "experiment_variant_stats"

    # No foreign key: the operator's experiments live in Kubernetes, not in the experiments table.
    experiment: Mapped[str] = mapped_column(String(128), primary_key=True)
    variant: Mapped[str] = mapped_column(String(128), primary_key=True)
    assigned: Mapped[int] = mapped_column(BigInteger, default=0)
    expected: Mapped[float] = mapped_column(Float, default=0.0)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)
    total_sq: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExperimentKeyRow(Base):
    """The secret every router replica of an experiment signs its request ids with (first one wins)."""

    __tablename__ = "experiment_keys"

    experiment: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PublishedWeightsRow(Base):
    """Weights set by hand on one router replica, for all of them; ``revision`` only grows."""

    __tablename__ = "experiment_weights"

    experiment: Mapped[str] = mapped_column(String(128), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    basis: Mapped[str] = mapped_column(String(64), default="")
    weights: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackClaimRow(Base):
    """One row per request id whose feedback was counted: the primary key makes a repeat a no-op."""

    __tablename__ = "experiment_feedback"

    experiment: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
