from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlpy.registry import ModelRegistry


@pytest.fixture(scope="session")
def regressor() -> LinearRegression:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.normal(40, 10, 200), "income": rng.normal(50, 5, 200)})
    return LinearRegression().fit(x, 2 * x["age"] + x["income"])


@pytest.fixture(scope="session")
def classifier() -> LogisticRegression:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))


@pytest.fixture
def registry(store_url: str, tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(store_url, str(tmp_path / "artifacts"))


@pytest.fixture
def sqlite_registry(sqlite_url: str, tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
