"""Data for the drift integration tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    n = 3000
    reference = pd.DataFrame({"x": rng.normal(size=n), "city": rng.choice(["a", "b", "c"], n)})
    current = pd.DataFrame({"x": rng.normal(0.5, 1, n), "city": rng.choice(["a", "b", "c"], n)})
    return reference, current
