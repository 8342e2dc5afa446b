from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from mlpy.monitoring import MonitoringRecorder
from mlpy.store import Store, open_store

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def traffic_store(sqlite_url: str) -> Store:
    """One hour of traffic for ranker v1 (20 requests a minute) with an error and latency spike at 11:30."""
    store = open_store(sqlite_url)
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    rng = np.random.default_rng(0)
    start = NOW.replace(second=0) - timedelta(minutes=59)
    for minute in range(60):
        at = start + timedelta(minutes=minute)
        spike = minute == 30
        for i in range(20):
            latency = float(rng.lognormal(np.log(0.05), 0.2)) * (20 if spike else 1)
            recorder.record_request(
                "ranker", 1, latency, error=spike and i < 10, prediction=float(i % 5), at=at
            )
            recorder.record_outcome("ranker", 1, prediction=float(i % 5), outcome=float(i % 5) + 0.5, at=at)
    recorder.flush()
    return store
