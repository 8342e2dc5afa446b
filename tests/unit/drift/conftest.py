"""Small reference/current datasets and files for the drift tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261127)


@pytest.fixture
def reference_frame(rng: np.random.Generator) -> pd.DataFrame:
    n = 4000
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.5, 0.3, 0.2]),
            "flag": rng.integers(0, 2, n),
        }
    )


@pytest.fixture
def drifted_frame(reference_frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """age shifted by half a std, income 10% null, a new city; flag unchanged."""
    n = len(reference_frame)
    frame = pd.DataFrame(
        {
            "age": rng.normal(45, 10, n),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["paris", "lyon", "nice", "lille"], n, p=[0.3, 0.3, 0.2, 0.2]),
            "flag": rng.integers(0, 2, n),
        }
    )
    frame.loc[: n // 10 - 1, "income"] = np.nan
    return frame


@pytest.fixture
def data_files(tmp_path: Path, reference_frame: pd.DataFrame, drifted_frame: pd.DataFrame) -> dict[str, Path]:
    files = {
        "reference": tmp_path / "reference.csv",
        "current": tmp_path / "current.parquet",
        "same": tmp_path / "same.parquet",
    }
    reference_frame.to_csv(files["reference"], index=False)
    drifted_frame.to_parquet(files["current"])
    reference_frame.to_parquet(files["same"])
    return files
