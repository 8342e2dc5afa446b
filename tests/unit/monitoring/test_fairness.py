"""Group fairness from the prediction log: fairlearn's figures on the same rows, stored in SQLite and
PostgreSQL, in the report and the CLI, and alert rules on the gaps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from mlpy.cli.main import main
from mlpy.monitoring import (
    AlertLog,
    AlertRule,
    InvalidRuleError,
    MonitoringRecorder,
    Window,
    build_report,
    fairness_report,
    group_fairness,
)
from mlpy.monitoring.fairness import label_key
from mlpy.predlog import LoggedPrediction, PredictionLogger
from mlpy.store import open_store

NOW = datetime(2026, 12, 2, 12, 0, 30, tzinfo=UTC)


def biased(n: int, seed: int = 0, favour: float = 0.3) -> pd.DataFrame:
    """A labelled dataset where the model selects group ``m`` ``favour`` more often than ``f`` (the true
    base rate is the same in both), and an age band with no effect."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], size=n)
    band = rng.choice(["18-30", "31-60", "61+"], size=n)
    outcome = (rng.random(n) < 0.5).astype(int)
    rate = np.where(outcome == 1, 0.6, 0.2) + np.where(sex == "m", favour, 0.0)
    prediction = (rng.random(n) < rate).astype(int)
    return pd.DataFrame({"prediction": prediction, "outcome": outcome, "sex": sex, "age_band": band})


def fairlearn_figures(frame: pd.DataFrame, attribute: str) -> tuple[pd.DataFrame, float, float]:
    """fairlearn on the rows directly: the figures the monitoring must reproduce."""
    y_true, y_pred, groups = frame["outcome"], frame["prediction"], frame[attribute]
    rates = pd.DataFrame(
        {
            metric.__name__: MetricFrame(
                metrics=metric, y_true=y_true, y_pred=y_pred, sensitive_features=groups
            ).by_group
            for metric in (selection_rate, true_positive_rate, false_positive_rate)
        }
    )
    dpd = demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
    eod = equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
    return rates, float(dpd), float(eod)


def test_figures_are_fairlearns_on_a_dataset_favouring_one_group() -> None:
    frame = biased(2000)
    found = {a.attribute: a for a in group_fairness(frame, ["sex", "age_band"])}
    for attribute in ("sex", "age_band"):
        rates, dpd, eod = fairlearn_figures(frame, attribute)
        got = found[attribute]
        assert got.demographic_parity_difference == pytest.approx(dpd, abs=1e-12)
        assert got.equalized_odds_difference == pytest.approx(eod, abs=1e-12)
        assert [g.group for g in got.groups] == [str(g) for g in rates.index]
        for group in got.groups:
            expected = rates.loc[group.group]
            assert group.selection_rate == pytest.approx(expected["selection_rate"], abs=1e-12)
            assert group.true_positive_rate == pytest.approx(expected["true_positive_rate"], abs=1e-12)
            assert group.false_positive_rate == pytest.approx(expected["false_positive_rate"], abs=1e-12)
        assert got.samples == 2000
        assert sum(g.samples for g in got.groups) == 2000
    # The favoured group stands out; the attribute without an effect does not.
    assert found["sex"].demographic_parity_difference > 0.2
    assert found["sex"].equalized_odds_difference > 0.2
    assert found["age_band"].demographic_parity_difference < 0.06


def test_a_fair_dataset_has_no_gap_within_noise() -> None:
    frame = biased(20_000, seed=3, favour=0.0)
    [sex] = group_fairness(frame, ["sex"])
    assert sex.demographic_parity_difference < 0.02
    assert sex.equalized_odds_difference < 0.03


def test_labels_are_one_class_however_feedback_spells_them() -> None:
    assert {label_key(v) for v in (1, 1.0, "1", "1.0", True, "true")} == {"1"}
    assert label_key("yes") == "yes"
    assert label_key(0) == label_key(False) == "0"
    frame = pd.DataFrame(
        {"prediction": ["yes", "no", "yes", "no"], "outcome": ["yes", "yes", "no", "no"], "g": [1, 1, 2, 2]}
    )
    [g] = group_fairness(frame, ["g"], positive_label="yes")
    assert [(x.group, x.selection_rate) for x in g.groups] == [("1", 0.5), ("2", 0.5)]


def log_rows(store_url: str, frame: pd.DataFrame, *, batch: int = 4, version: str = "1") -> None:
    """The rows as the server logs them: batches with per-row group attributes, then their outcomes."""
    logger = PredictionLogger(store_url)
    for start in range(0, len(frame), batch):
        part = frame.iloc[start : start + batch]
        request_id = f"v{version}-r{start}"
        groups = {"sex": part["sex"].tolist(), "age_band": part["age_band"].tolist()}
        features = [[float(i)] for i in range(len(part))]
        logger.offer(
            LoggedPrediction(
                request_id, "loan", version, features, part["prediction"].tolist(), groups=groups,
                ts=NOW - timedelta(minutes=5),
            )
        )  # fmt: skip
        logger.record_outcome(request_id, part["outcome"].tolist())
    # An ungrouped request and a grouped one without an outcome: neither can count.
    logger.offer(LoggedPrediction("plain", "loan", version, [[0.0]], [1], ts=NOW - timedelta(minutes=5)))
    logger.offer(
        LoggedPrediction(
            "open", "loan", version, [[0.0]], [1], groups={"sex": ["f"]}, ts=NOW - timedelta(minutes=5)
        )
    )
    logger.flush()


def test_stored_predictions_with_groups_and_outcomes_give_the_same_figures(store_url: str) -> None:
    frame = biased(400, seed=7)
    log_rows(store_url, frame)
    report = fairness_report(open_store(store_url), "loan", "1", timedelta(hours=1), now=NOW)
    assert report.samples == 400
    found = {a.attribute: a for a in report.attributes}
    assert set(found) == {"sex", "age_band"}
    for attribute in ("sex", "age_band"):
        rates, dpd, eod = fairlearn_figures(frame, attribute)
        assert found[attribute].demographic_parity_difference == pytest.approx(dpd, abs=1e-12)
        assert found[attribute].equalized_odds_difference == pytest.approx(eod, abs=1e-12)
        assert [g.selection_rate for g in found[attribute].groups] == pytest.approx(
            rates["selection_rate"].tolist(), abs=1e-12
        )
    data = report.to_dict()
    assert data["attributes"][0]["groups"][0].keys() >= {"group", "samples", "selection_rate"}
    # Outside the window nothing counts.
    earlier = fairness_report(open_store(store_url), "loan", "1", Window.hourly, now=NOW - timedelta(hours=2))
    assert earlier.samples == 0
    assert earlier.attributes == []


def test_a_rule_on_a_gap_fires_once_enough_samples_per_group_and_syncs_into_the_alert_log(
    sqlite_url: str,
) -> None:
    store = open_store(sqlite_url)
    log_rows(sqlite_url, biased(400, seed=7))
    report = fairness_report(store, "loan", "1", timedelta(hours=1), now=NOW)
    gap = AlertRule("parity", "demographic_parity_difference", ">", 0.1, min_requests=50)
    odds = AlertRule("odds", "equalized_odds_difference", ">", 0.9, min_requests=50)
    too_few = AlertRule("parity-small", "demographic_parity_difference", ">", 0.1, min_requests=1000)
    value = gap.fires(report.figures())
    assert value == pytest.approx(report.attributes[0].demographic_parity_difference)
    assert odds.fires(report.figures()) is None
    assert too_few.fires(report.figures()) is None
    log = AlertLog(store)
    [alert] = log.sync("loan", "1", [gap, odds, too_few], report.figures(), NOW)
    assert alert.rule == "parity"
    assert "demographic_parity_difference" in alert.message
    assert AlertRule.from_dict(gap.to_dict()) == gap
    with pytest.raises(InvalidRuleError, match="demographic_parity_difference"):
        AlertRule("x", "parity_gap", ">", 0.1)


def test_the_monitoring_report_shows_fairness_and_alerts_on_it(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    recorder = MonitoringRecorder(store, flush_interval_s=1e9)
    for _ in range(30):
        recorder.record_request("loan", "1", 0.01, at=NOW - timedelta(minutes=5))
    recorder.flush()
    log_rows(sqlite_url, biased(400, seed=7))
    rules = [AlertRule("parity", "demographic_parity_difference", ">", 0.1, min_requests=50)]
    report = build_report(store, Window.hourly, now=NOW, rules=rules)
    [version] = report.versions
    assert version.fairness is not None
    assert {a["attribute"] for a in version.to_dict()["fairness"]["attributes"]} == {"sex", "age_band"}
    assert [a.rule for a in version.alerts] == ["parity"]
    assert [a.rule for a in AlertLog(store).list()] == ["parity"]


def test_cli_prints_the_figures(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    frame = biased(400, seed=7)
    log_rows(sqlite_url, frame)
    base = ["monitor", "--store", sqlite_url, "fairness", "loan", "--now", NOW.isoformat()]
    assert main([*base, "--window", "1h", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    _, dpd, _ = fairlearn_figures(frame, "sex")
    [sex] = [a for a in data["attributes"] if a["attribute"] == "sex"]
    assert sex["demographic_parity_difference"] == pytest.approx(dpd, abs=1e-12)
    assert main([*base, "--window", "hourly"]) == 0
    text = capsys.readouterr().out
    assert "demographic parity diff" in text
    assert "age_band" in text
    assert main([*base, "--window", "2x"]) != 0
