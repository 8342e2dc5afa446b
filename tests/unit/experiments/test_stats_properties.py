from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpy.experiments.stats import VariantStats, merge

values = st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=2, max_size=60)


@settings(max_examples=60, deadline=None)
@given(values, st.integers(min_value=0, max_value=60))
def test_any_split_merges_to_the_pooled_statistics(data: list[float], cut: int) -> None:
    cut = min(cut, len(data))
    merged = merge({"v": VariantStats.of(data[:cut])}, {"v": VariantStats.of(data[cut:])})["v"]
    assert merged.n == len(data)
    assert merged.mean == pytest.approx(float(np.mean(data)), abs=1e-9)
    assert merged.variance == pytest.approx(float(np.var(data, ddof=1)), rel=1e-6, abs=1e-6)
    assert VariantStats.from_dict(merged.to_dict()) == merged
