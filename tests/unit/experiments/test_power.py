from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.metrics import MetricType
from mlpy.experiments.power import sample_size


def test_mean_sample_size_reaches_the_requested_power_in_simulation() -> None:
    result = sample_size(MetricType.mean, 10.0, 0.02, sd=2.0, alpha=0.05, power=0.8)
    n = result.per_variant
    rng = np.random.default_rng(0)
    control = rng.normal(10.0, 2.0, (1_000, n))
    treatment = rng.normal(10.2, 2.0, (1_000, n))
    p = sps.ttest_ind(treatment, control, axis=1, equal_var=False).pvalue
    assert np.mean(p < 0.05) == pytest.approx(0.8, abs=0.04)
    assert result.sequential_per_variant > n  # safe peeking costs samples


def test_proportion_sample_size_follows_the_two_proportion_formula() -> None:
    result = sample_size(MetricType.proportion, 0.10, 0.10, alpha=0.05, power=0.8, variants=3)
    p1, p2 = 0.10, 0.11
    z_a, z_b = sps.norm.ppf(1 - 0.025 / 2), sps.norm.ppf(0.8)
    pooled = (p1 + p2) / 2
    expected = (
        z_a * np.sqrt(2 * pooled * (1 - pooled)) + z_b * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2 / (p2 - p1) ** 2
    assert result.per_variant == int(np.ceil(expected))
    assert result.total == 3 * result.per_variant


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric_type": MetricType.mean, "baseline": 1.0, "mde": 0.1}, "--sd"),
        ({"metric_type": MetricType.proportion, "baseline": 0.95, "mde": 0.1}, "range of a proportion"),
        ({"metric_type": MetricType.proportion, "baseline": 0.1, "mde": 0.0}, "non-zero"),
        ({"metric_type": MetricType.proportion, "baseline": 0.1, "mde": 0.1, "variants": 1}, "at least 2"),
    ],
)
def test_bad_power_inputs(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidExperimentError, match=message):
        sample_size(**kwargs)  # type: ignore[arg-type]
