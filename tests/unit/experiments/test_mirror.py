"""The mirror's comparison of answers, and its report from additive counts."""

from __future__ import annotations

import pytest

from mlpy.experiments import (
    ExperimentConfig,
    InvalidExperimentError,
    MirrorCounts,
    MirrorReport,
    MirrorSpec,
    compare_predictions,
    predictions_of,
)
from mlpy.experiments.stats import merge


def test_predictions_are_read_from_native_and_open_inference_answers() -> None:
    assert predictions_of({"prediction": 1.5, "version": "2"}) == [1.5]
    assert predictions_of({"predictions": ["yes", "no"]}) == ["yes", "no"]
    oip = {"outputs": [{"name": "predict_proba", "data": [0.2, 0.8]}, {"name": "predict", "data": [1]}]}
    assert predictions_of(oip) == [1, 0.2, 0.8]  # by output name: the same order on both sides
    assert predictions_of({"error": "bad input"}) is None


def test_agreement_is_the_same_labels_and_numbers_to_six_digits() -> None:
    assert compare_predictions(["a", "b"], ["a", "b"]) == (True, 0.0)
    assert compare_predictions(["a", "b"], ["a", "c"])[0] is False
    agreed, gap = compare_predictions([1000.0, 2.0], [1000.0004, 2.5])
    assert agreed is False
    assert gap == pytest.approx(0.5004)
    assert compare_predictions([1000.0], [1000.0004])[0] is True
    assert compare_predictions([1, 2], [1]) == (False, 0.0)


def test_the_report_adds_up_the_counts_of_every_replica() -> None:
    one, two = MirrorCounts(), MirrorCounts()
    for counts, latencies in ((one, [10.0, 20.0]), (two, [30.0])):
        for ms in latencies:
            counts.copies += 1
            counts.answered_in(ms)
            counts.compared += 1
        counts.agreed += 1
    two.copies += 1
    two.failed += 1
    report = MirrorReport.of(merge(one.deltas(), two.deltas()))
    assert (report.copies, report.failed, report.compared) == (4, 1, 3)
    assert report.agreement == pytest.approx(2 / 3)
    assert report.mean_latency_ms == pytest.approx(20.0)
    assert report.latency_sd_ms == pytest.approx(10.0)
    assert MirrorReport.of({}).to_document()["agreement"] is None


def test_the_spec_reads_the_mirror_and_refuses_a_bad_share() -> None:
    spec = {"variants": [{"name": "A"}, {"name": "B"}], "mirror": {"modelVersion": "credit-v3", "percent": 5}}
    config = ExperimentConfig.from_dict(spec)
    assert config.mirror == MirrorSpec(5.0, "credit-v3")
    assert ExperimentConfig.from_dict(config.to_dict()).mirror == config.mirror
    with pytest.raises(InvalidExperimentError, match=r"outside \(0, 100\]"):
        MirrorSpec.from_dict({"percent": 0})
