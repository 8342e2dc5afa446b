"""Demo steps that watch a deployed model: drift in a shifted window, and a day of monitored traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpy.demo.data import TARGET, shifted_window


def detect_drift(reference: pd.DataFrame, output: Path, *, seed: int = 1) -> tuple[list[str], bool, Path]:
    """Profile the training features, check a shifted window against the profile, write the HTML report."""
    from mlpy.drift import DriftProfile, check, record

    features = reference.drop(columns=[TARGET])
    profile = DriftProfile.from_data(features, source="demo training data")
    profile_path = profile.save(output / "credit-risk-reference.npz")
    report = check(DriftProfile.load(profile_path), shifted_window(features, seed=seed))
    record(report, dataset="credit-risk")
    html = output / "drift-report.html"
    html.write_text(report.to_html())
    return sorted(report.drifted_features), bool(report.dataset_drift), html


def simulate_day(
    store: str, model: str, version: int, *, now: datetime | None = None, seed: int = 2
) -> dict[str, Any]:
    """24 hours of requests, with a latency and error incident at 14:00-14:20 and predictions creeping up
    in the last six hours; returns the daily report of that day (anomalies, alerts, trends)."""
    from mlpy.monitoring import AlertRule, MonitoringRecorder, Severity, Window, build_report
    from mlpy.store import open_store

    rng = np.random.default_rng(seed)
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    start = end - timedelta(hours=24)
    recorder = MonitoringRecorder(store, flush_interval_s=float("inf"))
    for minute in range(24 * 60):
        at = start + timedelta(minutes=minute)
        incident = 14 * 60 <= minute < 14 * 60 + 20
        late = minute >= 18 * 60
        for _ in range(int(rng.poisson(20))):
            latency = float(rng.lognormal(np.log(0.03), 0.3)) * (8.0 if incident else 1.0)
            error = bool(rng.random() < (0.3 if incident else 0.002))
            score = float(np.clip(rng.normal(0.42 if late else 0.30, 0.1), 0, 1))
            recorder.record_request(model, version, latency, error=error, prediction=score, at=at)
    recorder.flush()
    rules = (
        AlertRule("latency-p99-high", "latency_p99", ">", 0.15, Severity.warning),
        AlertRule("error-rate-high", "error_rate", ">", 0.005, Severity.warning),
        AlertRule("error-rate-critical", "error_rate", ">", 0.05, Severity.critical),
    )
    report = build_report(
        open_store(store), Window.daily, now=end + timedelta(minutes=1), model=model, rules=rules
    )
    return dict(report.to_dict())
