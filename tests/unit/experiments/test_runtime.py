from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Mapping

import numpy as np
import pytest
from scipy import stats as sps

from mlpy.experiments import Experiment, Variant
from mlpy.experiments.assignment import Assigner, unit_position
from mlpy.experiments.backends import MemoryStats
from mlpy.experiments.errors import InvalidExperimentError, StatsBackendError, UnknownVariantError
from mlpy.experiments.metrics import Goal, MetricSpec, MetricType
from mlpy.experiments.stats import VariantStats


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_sticky_assignment_is_stable_across_processes() -> None:
    here = [unit_position("checkout", f"user-{i}") for i in range(3)]
    code = (
        "from mlpy.experiments.assignment import unit_position;"
        "print([unit_position('checkout', f'user-{i}') for i in range(3)])"
    )
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert repr(here) == there.strip()
    assert unit_position("checkout", "user-0") != unit_position("pricing", "user-0")


def test_sticky_assignment_follows_the_weights() -> None:
    assigner = Assigner("exp", {"A": 70, "B": 20, "C": 10})
    counts = Counter(assigner.assign(f"unit-{i}") for i in range(20_000))
    assert all(assigner.assign(f"unit-{i}") == assigner.assign(f"unit-{i}") for i in range(100))
    observed = [counts["A"], counts["B"], counts["C"]]
    assert sps.chisquare(observed, f_exp=[14_000, 4_000, 2_000]).pvalue > 0.001


def test_assign_and_record_accumulate_and_flush() -> None:
    backend = MemoryStats()
    experiment = Experiment("exp", [Variant("A"), Variant("B")], backend=backend, refresh_interval_s=1e9)
    for i in range(1_000):
        variant = experiment.assign(f"u{i}")
        experiment.record(variant, 1.0 if variant == "A" else 2.0)
    experiment.flush()
    shared = backend.load("exp")
    assert shared["A"].assigned + shared["B"].assigned == 1_000
    # each unit had probability 1/2 of either variant: the expected counts are exactly 500
    assert shared["A"].expected == pytest.approx(500.0)
    assert shared["B"].mean == 2.0
    assert experiment.stats() == shared


def test_bad_records_are_refused() -> None:
    experiment = Experiment(
        "exp", [Variant("A"), Variant("B")], metric=MetricSpec(type=MetricType.proportion)
    )
    with pytest.raises(UnknownVariantError, match="no variant 'C'"):
        experiment.record("C", 1.0)
    with pytest.raises(InvalidExperimentError, match="proportion"):
        experiment.record("A", 0.5)
    with pytest.raises(InvalidExperimentError, match="proportion"):
        experiment.record_batch("A", np.array([1.0, 0.0, 2.0]))
    with pytest.raises(InvalidExperimentError, match="uniquely named"):
        Experiment("exp", [Variant("A"), Variant("A")])


def test_thompson_reweights_from_shared_stats_within_the_refresh_interval() -> None:
    clock = _Clock()
    backend = MemoryStats()
    backend.add(
        "exp",
        {
            "A": VariantStats(n=500, total=500.0, total_sq=1000.0),
            "B": VariantStats(n=500, total=200.0, total_sq=580.0),
        },
    )
    experiment = Experiment(
        "exp",
        [Variant("A"), Variant("B")],
        strategy="thompson-sampling",
        metric=MetricSpec("squared_error", Goal.minimize),
        backend=backend,
        refresh_interval_s=1.0,
        seed=3,
        clock=clock,
    )
    assert experiment.current_weights() == {"A": 0.5, "B": 0.5}
    experiment.assign()
    assert experiment.current_weights() == {"A": 0.5, "B": 0.5}
    clock.now = 1.0
    experiment.assign()  # due: flush, reload, reweight
    assert experiment.current_weights()["B"] > 0.85  # lower squared error wins (10% stays off it)


class _Failing:
    def add(self, experiment: str, deltas: Mapping[str, VariantStats]) -> None:
        raise StatsBackendError("down")

    def load(self, experiment: str) -> dict[str, VariantStats]:
        return {}

    def clear(self, experiment: str) -> None:
        return None


def test_a_failed_flush_keeps_the_deltas() -> None:
    experiment = Experiment("exp", [Variant("A"), Variant("B")], backend=_Failing(), refresh_interval_s=1e9)
    experiment.record("A", 3.0)
    with pytest.raises(StatsBackendError):
        experiment.flush()
    assert experiment.stats()["A"].n == 1


def test_without_auto_refresh_assign_never_does_io_and_snapshot_round_trips() -> None:
    clock = _Clock()
    experiment = Experiment(
        "exp", [Variant("A"), Variant("B")], backend=_Failing(), auto_refresh=False, clock=clock
    )
    clock.now = 100.0
    experiment.assign("u1")  # a due refresh would call the failing backend
    experiment.record("B", 2.0)
    snapshot = experiment.snapshot()
    assert snapshot["weights"] == {"A": 0.5, "B": 0.5}
    b = VariantStats.from_dict(snapshot["variants"]["B"])
    assert (b.n, b.total, b.total_sq) == (1, 2.0, 4.0)
    assert sum(v["assigned"] for v in snapshot["variants"].values()) == 1


def test_repeat_requests_can_be_left_out_of_the_srm_counts() -> None:
    experiment = Experiment("exp", [Variant("A"), Variant("B")], refresh_interval_s=1e9)
    first = experiment.assign("heavy-user")
    assert all(experiment.assign("heavy-user", count=False) == first for _ in range(50))
    stats = experiment.stats()
    assert sum(s.assigned for s in stats.values()) == 1
    assert sum(s.expected for s in stats.values()) == pytest.approx(1.0)


def test_weights_set_by_hand_reach_every_replica_and_hold_until_the_definition_changes() -> None:
    backend = MemoryStats()
    variants = [Variant("A"), Variant("B")]
    here, there = (
        Experiment("exp", variants, strategy="thompson-sampling", backend=backend, auto_refresh=False, seed=s)
        for s in (1, 2)
    )
    here.set_weights({"A": 0.0, "B": 1.0})
    assert here.current_weights() == {"A": 0.0, "B": 1.0}
    assert there.current_weights() == {"A": 0.5, "B": 0.5}  # until its next refresh
    for replica in (there, here):
        replica.record("A", 1.0)  # data an adaptive strategy would act on
        assert replica.refresh() == {"A": 0.0, "B": 1.0}  # pinned: the bandit does not move them
    there.set_weights({"A": 3.0, "B": 1.0})  # the newest revision wins, wherever it was set
    assert here.refresh() == {"A": 0.75, "B": 0.25}
    assert there.pinned_revision == here.pinned_revision == 2
    # A changed definition (as when the operator concludes the experiment) does not follow them.
    concluded = Experiment("exp", [Variant("A", 0.0), Variant("B", 1.0)], backend=backend, auto_refresh=False)
    assert concluded.refresh() == {"A": 0.0, "B": 1.0}
    assert concluded.pinned_revision is None


def test_weights_set_by_hand_are_checked_before_they_are_published() -> None:
    backend = MemoryStats()
    experiment = Experiment("exp", [Variant("A"), Variant("B")], backend=backend, auto_refresh=False)
    with pytest.raises(UnknownVariantError, match="unknown variants"):
        experiment.set_weights({"C": 1.0})
    with pytest.raises(InvalidExperimentError):
        experiment.set_weights({"A": 0.0, "B": 0.0})
    assert backend.published_weights("exp") is None
