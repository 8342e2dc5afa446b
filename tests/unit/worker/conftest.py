"""One trained model (with its drift reference) for the worker tests, and helpers to log predictions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlpy.demo.data import TARGET, credit_data, shifted_window


@dataclass(frozen=True)
class Trained:
    store: str
    artifacts: str
    result: dict[str, Any]


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    from mlpy.worker.jobs import train_and_register

    root = tmp_path_factory.mktemp("worker")
    store, artifacts = f"sqlite:///{root / 'store.db'}", str(root / "artifacts")
    return Trained(store, artifacts, train_and_register("credit", rows=600, store=store, artifacts=artifacts))


@pytest.fixture
def log_rows(tmp_path: Path) -> Callable[..., None]:
    """Write rows to the prediction log of ``store`` as the model server does (by feature name).

    The logged outputs are ``predictions`` when given, else 0 for every row.
    """
    from mlpy.predlog import LoggedPrediction, PredictionLogger

    def write(store: str, frame: pd.DataFrame, predictions: list[Any] | None = None) -> None:
        logger = PredictionLogger(store)
        logger.start()
        logger.offer(
            LoggedPrediction(
                "req-" + tmp_path.name,
                "credit",
                "1",
                frame.to_numpy(dtype=object).tolist(),
                [0] * len(frame) if predictions is None else predictions,
                feature_names=tuple(frame.columns),
            )
        )
        logger.stop()

    return write


@pytest.fixture
def same_inputs() -> pd.DataFrame:
    return credit_data(400, seed=11).drop(columns=[TARGET])


@pytest.fixture
def drifted_inputs() -> pd.DataFrame:
    return shifted_window(credit_data(1000, seed=2), rows=400, seed=4)
