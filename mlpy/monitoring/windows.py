"""Rolling windows: how far back a report looks and how finely its time series are cut."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from mlpy.monitoring.errors import MonitoringError


class Window(enum.StrEnum):
    hourly = "hourly"
    daily = "daily"
    weekly = "weekly"

    @property
    def span(self) -> timedelta:
        return {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}[
            self.value
        ]

    @property
    def step(self) -> timedelta:
        """Series resolution: 60, 144 or 168 points: enough for anomaly and trend tests, few to read."""
        return {"hourly": timedelta(minutes=1), "daily": timedelta(minutes=10), "weekly": timedelta(hours=1)}[
            self.value
        ]

    @classmethod
    def parse(cls, value: str) -> Window:
        try:
            return cls(value)
        except ValueError as exc:
            raise MonitoringError(f"unknown window {value!r}", hint="use hourly, daily or weekly") from exc


def floor_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def window_bounds(window: Window, now: datetime) -> tuple[datetime, datetime]:
    """[start, end): the last full span ending at the minute after ``now`` (so the current minute counts)."""
    end = floor_minute(now) + timedelta(minutes=1)
    return end - window.span, end
