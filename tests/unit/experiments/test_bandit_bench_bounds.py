"""bench/experiments_bandit.py judges issue 17's five bounds on its results, and fails when one breaks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from mlpy.experiments import RepeatedResult

BENCH = Path(__file__).resolve().parents[3] / "bench" / "experiments_bandit.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("experiments_bandit", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def result(
    units: int | None, winner: str | None, share: float, runs: int = 20, odd: int = 0, other: str = "A"
) -> RepeatedResult:
    """``runs`` runs alike (A the control, B the best), except the first ``odd`` that name ``other``."""
    winners = tuple(other if i < odd else winner for i in range(runs))
    return RepeatedResult("s", "A", "B", (units,) * runs, winners, (share,) * runs)


def _verdicts(printed: str) -> list[str]:
    return [line.split()[0] for line in printed.splitlines() if line.startswith(("PASS", "FAIL"))]


GOOD = {
    "two": {"weighted": result(5_000, "B", 0.5), "thompson": result(6_000, "B", 0.8)},
    "equal": result(None, None, 0.5, runs=500, odd=20, other="B"),  # 4% shipped
    "four": {"equal": result(12_000, "D", 0.25), "top-two": result(11_000, "D", 0.4)},
}


def test_the_five_bounds_pass_on_results_that_meet_them(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    assert bench.check(bench.bounds(**GOOD))
    assert _verdicts(capsys.readouterr().out) == ["PASS"] * 5


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"two": {**GOOD["two"], "thompson": result(10_001, "B", 0.8)}}, 0),  # > 2x the split's units
        ({"two": {**GOOD["two"], "thompson": result(6_000, "B", 0.69)}}, 1),  # < 70% on the better arm
        ({"two": {**GOOD["two"], "thompson": result(6_000, "B", 0.8, odd=2)}}, 2),  # 10% wrong
        ({"equal": result(None, None, 0.5, runs=500, odd=26, other="B")}, 3),  # 5.2% shipped
        ({"four": {**GOOD["four"], "top-two": result(12_000, "D", 0.4)}}, 4),  # not fewer units
    ],
)
def test_each_bound_fails_alone_and_the_benchmark_says_so(
    change: dict[str, object], failing: int, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench()
    found = bench.bounds(**{**GOOD, **change})
    assert [held for held, _ in found] == [i != failing for i in range(5)]
    assert not bench.check(found)
    assert _verdicts(capsys.readouterr().out)[failing] == "FAIL"
