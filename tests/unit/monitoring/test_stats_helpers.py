from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats as sps

from mlpy.monitoring.anomaly import Method, detect, iqr_anomalies, zscore_anomalies
from mlpy.monitoring.errors import MonitoringError
from mlpy.monitoring.histogram import latency_bin, percentile
from mlpy.monitoring.trend import trend

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_histogram_percentiles_are_within_a_bin_of_the_exact_ones() -> None:
    latencies = np.random.default_rng(1).lognormal(np.log(0.08), 0.6, 20_000)
    bins: dict[int, int] = {}
    for value in latencies:
        index = latency_bin(float(value))
        bins[index] = bins.get(index, 0) + 1
    for q in (50, 95, 99):
        assert percentile(bins, q, float(latencies.max())) == pytest.approx(
            np.percentile(latencies, q), rel=0.05
        )
    assert percentile({}, 50, 0.0) is None


def _series_with_spikes() -> list[float | None]:
    values: list[float | None] = list(np.random.default_rng(2).normal(100.0, 5.0, 60))
    values[17] = 160.0
    values[42] = 40.0
    values[50] = None  # a quiet minute
    return values


def test_zscore_finds_injected_spikes_only() -> None:
    found = zscore_anomalies(_series_with_spikes())
    assert [a.index for a in found] == [17, 42]
    assert found[0].score > 3
    assert found[1].score < -3


def test_iqr_finds_injected_spikes_only() -> None:
    found = detect(_series_with_spikes(), Method.iqr)
    assert [a.index for a in found] == [17, 42]


def test_clean_series_and_short_series_have_no_anomalies() -> None:
    clean = list(np.random.default_rng(3).normal(0.0, 1.0, 60))
    assert zscore_anomalies(clean, 4.0) == []
    assert iqr_anomalies(clean, 3.0) == []
    assert zscore_anomalies([1.0, 100.0]) == []
    with pytest.raises(MonitoringError, match="threshold"):
        zscore_anomalies(clean, 0)


def test_trend_matches_linregress_and_its_significance() -> None:
    times = [T0 + timedelta(minutes=10 * i) for i in range(48)]
    rng = np.random.default_rng(4)
    rising = [0.5 + 0.01 * i + float(rng.normal(0, 0.02)) for i in range(48)]
    result = trend(times, rising)
    assert result is not None
    hours = [(t - T0).total_seconds() / 3600 for t in times]
    expected = sps.linregress(hours, rising)
    assert result.slope_per_hour == pytest.approx(expected.slope)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.direction == "rising"
    noise = list(rng.normal(0, 1, 48))
    flat = trend(times, noise)
    assert flat is not None
    assert flat.p_value == pytest.approx(sps.linregress(hours, noise).pvalue)
    assert flat.significant is (flat.p_value < 0.05)
    assert trend(times[:2], rising[:2]) is None
