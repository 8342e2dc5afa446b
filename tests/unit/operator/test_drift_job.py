"""The DriftMonitor job's check, without a cluster: the logged window, its outputs, the importance."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from mlpy.drift import DriftProfile, with_predictions
from mlpy.predlog import LoggedPrediction, PredictionLogger
from mlpy.registry import ModelRegistry
from mlpy.store import utcnow
from mlpy_operator.drift_job import current_window, run_check, version_importance


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"big": rng.normal(shift, 1, n), "small": rng.normal(0, 1, n)})


def test_window_outputs_and_importance_reach_the_check(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    rng = np.random.default_rng(6)
    train = _frame(rng, 2_000)
    model = LinearRegression().fit(train, 3 * train["big"] + 0.1 * train["small"])
    ModelRegistry(store, str(tmp_path / "artifacts")).register(
        "house", model, validation=(train, 3 * train["big"] + 0.1 * train["small"])
    )
    ModelRegistry(store, str(tmp_path / "artifacts")).promote("house", 1)
    profile = DriftProfile.from_data(with_predictions(train, model))
    reference = profile.save(tmp_path / "reference.npz")
    window = _frame(rng, 500, shift=0.5)
    logger = PredictionLogger(store)
    logger.start()
    logger.offer(
        LoggedPrediction(
            "req-1",
            "house",
            "1",
            window.to_numpy(dtype=object).tolist(),
            model.predict(window).tolist(),
            feature_names=tuple(window.columns),
        )
    )
    logger.stop()
    settings = {"model": "house", "window": "1h", "reference": reference, "driftShare": 0.5}
    current = current_window(settings, store, utcnow() + timedelta(seconds=1))
    assert list(current.columns) == ["prediction", "big", "small"]
    importance = version_importance(settings, store)
    assert importance is not None
    assert importance["big"]["mean"] > importance["small"]["mean"]
    report = run_check(settings, current, importance)
    assert report.features["prediction"].drifted
    assert report.features["big"].drifted
    # The importance weighs the inputs; the outputs are judged, but weigh nothing in the score.
    assert report.ranking[0] == "big"
    assert report.to_dict()["features"]["prediction"]["importance"] == 0.0
    assert report.importance_weighted_drift is not None
    assert version_importance({"model": "missing", "window": "1h"}, store) is None
