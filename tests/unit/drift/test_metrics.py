"""Prometheus output: the exposition text a batch job pushes and a long-running process serves."""

from __future__ import annotations

import pandas as pd
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mlpy.drift import check
from mlpy.drift.metrics import DriftCollector, exposition


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_exposition_carries_the_verdicts(reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame) -> None:
    report = check(reference_frame, drifted_frame)
    samples = _samples(exposition(report, "credit"))
    assert samples[("mlpy_drift_dataset_drift", (("dataset", "credit"),))] == 1.0
    assert samples[("mlpy_drift_share", (("dataset", "credit"),))] == 0.75
    age = (("dataset", "credit"), ("feature", "age"), ("method", "ks"))
    assert samples[("mlpy_drift_feature_drifted", age)] == 1.0
    assert samples[("mlpy_drift_feature_statistic", age)] == report.features["age"].statistic
    flag = (("dataset", "credit"), ("feature", "flag"), ("method", "chisquare"))
    assert samples[("mlpy_drift_feature_drifted", flag)] == 0.0
    null = (("dataset", "credit"), ("feature", "income"))
    assert samples[("mlpy_drift_feature_null_share", null)] == 0.1


def test_collector_serves_the_newest_report_per_dataset(
    reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame
) -> None:
    registry = CollectorRegistry()
    collector = DriftCollector()
    registry.register(collector)
    collector.update(check(reference_frame, drifted_frame), "a")
    collector.update(check(reference_frame, reference_frame), "b")
    samples = _samples(generate_latest(registry).decode())
    assert samples[("mlpy_drift_dataset_drift", (("dataset", "a"),))] == 1.0
    assert samples[("mlpy_drift_dataset_drift", (("dataset", "b"),))] == 0.0
    collector.update(check(reference_frame, reference_frame), "a")
    samples = _samples(generate_latest(registry).decode())
    assert samples[("mlpy_drift_dataset_drift", (("dataset", "a"),))] == 0.0
