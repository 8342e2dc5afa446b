"""Pushing drift metrics to a real Prometheus Pushgateway and reading them back from it."""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlpy.cli.main import main
from mlpy.drift import check
from mlpy.drift.errors import DriftError
from mlpy.drift.metrics import push

pytestmark = pytest.mark.integration


def _gateway_samples(url: str, dataset: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, sample.labels.get("feature", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("dataset") == dataset and sample.name.startswith("mlpy_drift")
    }


def test_push_replaces_the_datasets_metrics(
    pushgateway_url: str, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    reference, current = frames
    dataset = f"test-{uuid.uuid4().hex[:8]}"
    push(check(reference, current), pushgateway_url, dataset=dataset)
    samples = _gateway_samples(pushgateway_url, dataset)
    assert samples[("mlpy_drift_dataset_drift", "")] == 1.0  # 1 of 2 columns reaches the 0.5 share
    assert samples[("mlpy_drift_feature_drifted", "x")] == 1.0
    assert samples[("mlpy_drift_feature_drifted", "city")] == 0.0
    push(check(reference, reference), pushgateway_url, dataset=dataset)
    samples = _gateway_samples(pushgateway_url, dataset)
    assert samples[("mlpy_drift_feature_drifted", "x")] == 0.0
    assert samples[("mlpy_drift_dataset_drift", "")] == 0.0
    with urllib.request.urlopen(
        urllib.request.Request(
            f"{pushgateway_url}/metrics/job/mlpy_drift/dataset/{dataset}", method="DELETE"
        ),
        timeout=10,
    ):
        pass


def test_unreachable_gateway_is_a_drift_error(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reference, current = frames
    with pytest.raises(DriftError, match="cannot push drift metrics"):
        push(check(reference, current), "http://127.0.0.1:9", dataset="x")


def test_cli_pushes_with_the_name_as_dataset(
    pushgateway_url: str, frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    reference, current = frames
    reference.to_parquet(tmp_path / "reference.parquet")
    current.to_parquet(tmp_path / "current.parquet")
    dataset = f"cli-{uuid.uuid4().hex[:8]}"
    files = ["-r", str(tmp_path / "reference.parquet"), "-c", str(tmp_path / "current.parquet")]
    options = ["--pushgateway", pushgateway_url, "--name", dataset, "--no-store", "-o", "json"]
    code = main(["drift", "check", *files, *options])
    assert code == 0
    assert _gateway_samples(pushgateway_url, dataset)[("mlpy_drift_feature_drifted", "x")] == 1.0
