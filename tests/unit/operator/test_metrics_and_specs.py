from __future__ import annotations

from datetime import timedelta

import pytest

from mlpy_operator.conditions import merge_conditions
from mlpy_operator.errors import SpecError
from mlpy_operator.metrics import RECONCILE_SECONDS, RECONCILES, observed
from mlpy_operator.specs import DriftMonitorSpec, parse_duration


def _count(kind: str, result: str) -> float:
    return RECONCILES.labels(kind, result)._value.get()


def test_reconciles_are_counted_by_result() -> None:
    ok, errors = _count("Test", "ok"), _count("Test", "error")
    with observed("Test"):
        pass
    with pytest.raises(RuntimeError), observed("Test"):
        raise RuntimeError("boom")
    assert _count("Test", "ok") == ok + 1
    assert _count("Test", "error") == errors + 1
    samples = {
        s.name: s.value for s in RECONCILE_SECONDS.collect()[0].samples if s.labels.get("kind") == "Test"
    }
    assert samples["mlpy_operator_reconcile_seconds_count"] == 2


def test_durations() -> None:
    assert parse_duration("90s", "x") == timedelta(seconds=90)
    assert parse_duration("24h", "x") == timedelta(hours=24)
    assert parse_duration("7d", "x") == timedelta(days=7)
    with pytest.raises(SpecError, match=r"spec\.window"):
        parse_duration("soon", "spec.window")


def test_drift_monitor_needs_exactly_one_target() -> None:
    base = {"reference": {"uri": "r.csv"}, "schedule": "@hourly"}
    with pytest.raises(SpecError, match="exactly one"):
        DriftMonitorSpec.from_spec(base)
    with pytest.raises(SpecError, match="exactly one"):
        DriftMonitorSpec.from_spec({**base, "model": "m", "modelVersion": "m-v1"})
    assert DriftMonitorSpec.from_spec({**base, "model": "m"}).window == timedelta(hours=24)


def test_transition_time_moves_only_when_status_changes() -> None:
    first = [{"type": "Ready", "status": "False", "lastTransitionTime": "t1"}]
    same = merge_conditions(first, [{"type": "Ready", "status": "False", "lastTransitionTime": "t2"}])
    assert same[0]["lastTransitionTime"] == "t1"
    flipped = merge_conditions(first, [{"type": "Ready", "status": "True", "lastTransitionTime": "t3"}])
    assert flipped[0]["lastTransitionTime"] == "t3"
    kept = merge_conditions(first, [{"type": "Other", "status": "True", "lastTransitionTime": "t4"}])
    assert [c["type"] for c in kept] == ["Other", "Ready"]


def test_a_malformed_operator_setting_is_named_and_stops_the_start() -> None:
    import subprocess
    import sys

    import pytest

    from mlpy_operator.errors import OperatorError
    from mlpy_operator.runtime import OperatorConfig

    assert OperatorConfig.from_env({}).experiment_interval_s == 15.0
    for name, value in [("MLPY_PREDLOG_SAMPLE_RATE", "2"), ("MLPY_OPERATOR_METRICS_PORT", "http")]:
        with pytest.raises(OperatorError, match=name):
            OperatorConfig.from_env({name: value})
    done = subprocess.run(
        [sys.executable, "-m", "mlpy_operator"],
        env={"MLPY_EXPERIMENT_INTERVAL": "soon", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: MLPY_EXPERIMENT_INTERVAL='soon' is not a number (set MLPY_EXPERIMENT_INTERVAL to a number)"
    ]


def test_the_charts_pull_secrets_reach_every_kind_of_child_pod() -> None:
    from mlpy_operator.runtime import OperatorConfig

    config = OperatorConfig.from_env({"MLPY_IMAGE_PULL_SECRETS": "pull-a, pull-b"})
    for kind in ("server", "router", "driftJob"):
        assert config.pods(kind).image_pull_secrets == ("pull-a", "pull-b")
    assert OperatorConfig.from_env({}).pods("server").image_pull_secrets == ()


def test_every_drift_method_the_crd_admits_is_one_the_library_knows() -> None:
    """One vocabulary: the CRD takes the CLI's names and the other spellings, all the same methods."""
    from pathlib import Path

    import yaml

    from mlpy.drift import Method
    from mlpy.drift.methods import ALIASES, parse_method

    crd = yaml.safe_load((Path(__file__).parents[3] / "crds" / "driftmonitors.mlpy.io.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    admitted = spec["methods"]["additionalProperties"]["enum"]
    assert set(admitted) == {m.value for m in Method} | set(ALIASES)  # every spelling the CLI takes
    assert {parse_method(name) for name in admitted} == set(Method)
