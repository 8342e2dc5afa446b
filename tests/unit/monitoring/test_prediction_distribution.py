from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats as sps

from mlpy.monitoring import MonitoringRecorder, Window, build_report
from mlpy.monitoring.shift import prediction_shift
from mlpy.monitoring.summary import Totals
from mlpy.store import open_store

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


def test_classifier_labels_accuracy_and_a_shift_in_the_last_quarter(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    rng = np.random.default_rng(0)
    for minute in range(60):
        at = NOW - timedelta(minutes=59 - minute)
        share_of_fraud = 0.1 if minute < 45 else 0.4  # the model starts flagging far more
        for _ in range(30):
            label = "fraud" if rng.random() < share_of_fraud else "ok"
            recorder.record_request("detector", 2, 0.01, prediction=label, at=at)
            recorder.record_outcome("detector", 2, prediction=label, outcome="ok", at=at)
    recorder.flush()
    [version] = build_report(store, Window.hourly, now=NOW, record_alerts=False).to_dict()["models"]
    assert set(version["prediction_labels"]) == {"fraud", "ok"}
    assert version["prediction_labels"]["fraud"] == pytest.approx(0.175, abs=0.03)
    assert version["accuracy"] == pytest.approx(1 - version["prediction_labels"]["fraud"])
    assert version["mae"] is None  # labels have no numeric error
    shift = version["prediction_shift"]
    assert shift["test"] == "chi-square"
    assert shift["shifted"] is True


def test_numeric_shift_matches_scipy_welch_and_stays_quiet_without_change() -> None:
    rng = np.random.default_rng(1)
    earlier, recent = rng.normal(5.0, 1.0, 400), rng.normal(5.4, 1.2, 100)

    def totals(values: np.ndarray) -> Totals:
        return Totals(
            prediction_n=values.size,
            prediction_sum=float(values.sum()),
            prediction_sum_sq=float(np.dot(values, values)),
        )

    shift = prediction_shift(totals(earlier), totals(recent))
    assert shift is not None
    expected = sps.ttest_ind(recent, earlier, equal_var=False)
    assert shift.statistic == pytest.approx(expected.statistic)
    assert shift.p_value == pytest.approx(expected.pvalue)
    assert shift.shifted
    same = prediction_shift(totals(earlier), totals(rng.normal(5.0, 1.0, 100)))
    assert same is not None
    assert not same.shifted
    assert prediction_shift(totals(earlier), totals(recent[:5])) is None


@pytest.mark.parametrize(
    "table",
    [[[30, 70], [45, 55]], [[30, 70], [30, 70]], [[3, 97], [1, 99]], [[10, 20, 30], [30, 20, 10]]],
)
def test_label_shift_is_scipys_chi_square_test(table: list[list[int]]) -> None:
    """The chi-square test without scipy.stats gives its statistic and p-value, Yates' correction too."""
    from mlpy.monitoring.shift import _chi_square

    observed = np.array(table)
    expected = sps.chi2_contingency(observed)
    statistic, p_value = _chi_square(observed)
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue)
