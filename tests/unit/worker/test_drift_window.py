"""Scheduled drift checks of logged inputs: the settings, the window, the reference, the verdict."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import generate_latest

from mlpy.registry import ModelRegistry
from mlpy.store import open_store
from mlpy.worker.drift_window import DriftSettings, check_window, parse_window
from mlpy.worker.errors import InvalidSettingsError, ReferenceUnavailableError
from mlpy.worker.monitor import Monitor
from mlpy.worker.references import REFERENCE_TAG


def test_settings_read_a_driftmonitor_spec() -> None:
    settings = DriftSettings.from_mapping(
        {
            "model": "credit",
            "version": 3,
            "reference": "s3://bucket/ref.parquet",
            "window": "30m",
            "methods": {"income": "psi"},
            "thresholds": {"income": "0.2"},
            "driftShare": 0.3,
            "features": ["income", "age"],
        }
    )
    assert settings.version == "3"
    assert settings.window == timedelta(minutes=30)
    assert settings.thresholds == {"income": 0.2}
    assert settings.drift_share == 0.3
    assert settings.features == ["income", "age"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "incomplete"),
        ({"model": "m", "window": "5s"}, "not a duration"),
        ({"model": "m", "window": "0h"}, "not a duration"),
        ({"model": "m", "driftShare": 1.5}, "out of range"),
        ({"model": "m", "thresholds": {"a": "high"}}, "malformed"),
    ],
)
def test_bad_settings_say_what_to_fix(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSettingsError, match=message):
        DriftSettings.from_mapping(data)


def test_window_units() -> None:
    assert parse_window("7d") == timedelta(days=7)
    assert parse_window("24h") == timedelta(hours=24)


def test_training_job_registers_the_best_candidate_with_its_reference(trained: Any) -> None:
    registry = ModelRegistry(trained.store, trained.artifacts)
    version = registry.get_version("credit", "@production")
    assert version.version == trained.result["version"] == 1
    assert version.tags[REFERENCE_TAG] == trained.result["reference"]
    assert version.metrics["auc"] > 0.6
    assert version.sha256 == trained.result["sha256"]


def test_drifted_inputs_are_found_and_same_inputs_are_not(
    trained: Any, log_rows: Any, same_inputs: Any, drifted_inputs: Any, tmp_path: Any
) -> None:
    store = open_store(trained.store)
    registry = ModelRegistry(store, trained.artifacts)
    settings = DriftSettings.from_mapping({"model": "credit", "window": "1h"})
    log_rows(trained.store, same_inputs)
    calm = check_window(settings, store, registry)
    assert calm.rows == 400
    assert calm.report is not None
    # Same distribution: no dataset drift, and none of the columns the drifted window moves.
    assert not calm.report.dataset_drift
    assert not {"income", "employment"} & set(calm.report.drifted_features)
    log_rows(trained.store, drifted_inputs)
    stormy = check_window(settings, store, registry)
    assert stormy.rows == 800
    assert stormy.report is not None
    assert {"income", "employment"} <= set(stormy.report.drifted_features)
    assert "age" not in stormy.report.drifted_features


def test_too_few_rows_is_a_skip_not_a_verdict(trained: Any, tmp_path: Any) -> None:
    store_url = f"sqlite:///{tmp_path / 'empty.db'}"
    settings = DriftSettings.from_mapping({"model": "credit"})
    result = check_window(settings, open_store(store_url), ModelRegistry(store_url, trained.artifacts))
    assert result.report is None
    assert result.skipped == "0 rows logged, fewer than 30"


def test_a_reference_that_is_not_data_is_refused(trained: Any, log_rows: Any, same_inputs: Any) -> None:
    log_rows(trained.store, same_inputs)
    settings = DriftSettings.from_mapping({"model": "credit", "reference": "/tmp/reference.txt"})
    store = open_store(trained.store)
    with pytest.raises(ReferenceUnavailableError, match=r"neither a profile \(.npz\) nor data"):
        check_window(settings, store, ModelRegistry(store, trained.artifacts))


def test_monitor_exposes_drift_and_counts_checks(trained: Any, log_rows: Any, drifted_inputs: Any) -> None:
    log_rows(trained.store, drifted_inputs)
    monitor = Monitor(trained.store, trained.artifacts, [DriftSettings.from_mapping({"model": "credit"})])
    summary = monitor.run_once()
    assert summary.checks[0]["outcome"] in {"drift", "ok"}
    assert "income" in summary.checks[0]["drifted"]
    text = generate_latest(monitor.metrics).decode()
    assert 'mlpy_drift_feature_drifted{dataset="credit",feature="income"' in text
    assert 'mlpy_monitor_checks_total{model="credit",outcome=' in text
    assert "mlpy_monitor_last_run_timestamp_seconds" in text


def test_monitor_reports_a_failing_model_and_goes_on(trained: Any, log_rows: Any, same_inputs: Any) -> None:
    log_rows(trained.store, same_inputs)
    broken = DriftSettings.from_mapping({"model": "credit", "reference": "/nowhere/ref.npz"})
    fine = DriftSettings.from_mapping({"model": "credit"})
    summary = Monitor(trained.store, trained.artifacts, [broken, fine]).run_once()
    assert summary.checks[0]["outcome"] == "error"
    assert "/nowhere/ref.npz" in summary.checks[0]["error"]
    assert summary.checks[1]["outcome"] in {"ok", "drift"}


def test_logged_predictions_are_judged_against_the_reference_outputs(
    trained: Any, log_rows: Any, same_inputs: Any, drifted_inputs: Any, tmp_path: Any
) -> None:
    """The training job profiles the model's outputs and stores its importance; checks use both."""
    registry = ModelRegistry(trained.store, trained.artifacts)
    version = registry.get_version("credit", "@production")
    assert version.importance is not None
    assert set(same_inputs.columns) <= set(version.importance)
    model = registry.load("credit", "@production")
    settings = DriftSettings.from_mapping({"model": "credit", "window": "1h"})
    calm_log, stormy_log = f"sqlite:///{tmp_path / 'calm.db'}", f"sqlite:///{tmp_path / 'stormy.db'}"
    log_rows(calm_log, same_inputs, model.predict(same_inputs).tolist())
    calm = check_window(settings, open_store(calm_log), registry)
    assert calm.report is not None
    assert "prediction" in calm.report.features
    assert not calm.report.features["prediction"].drifted
    assert calm.report.importance_weighted_drift is not None
    # The outputs the model really gave on the shifted window: they moved with its inputs.
    log_rows(stormy_log, drifted_inputs, model.predict(drifted_inputs).tolist())
    stormy = check_window(settings, open_store(stormy_log), registry)
    assert stormy.report is not None
    assert stormy.report.features["prediction"].drifted
    stormy_score = stormy.report.importance_weighted_drift
    assert stormy_score is not None
    assert stormy_score > 2 * calm.report.importance_weighted_drift
