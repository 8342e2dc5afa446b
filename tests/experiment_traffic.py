"""The traffic of the operator's experiment e2e test, shared with the unit test that checks its statistics.

Variants are picked by a hash of the experiment's name, and the e2e test's name holds its random
namespace, so each run splits the units differently. The data must lead to the same verdict for
every split: conversions are exact (any first k units of a variant hold about k x rate of them), not
coin flips, and the early stage flushes once, at its end, so the bandit leans only once both variants
have about 200 values (leaning at 100 each starved the control at the 1% floor, too few to ever call).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlpy.experiments import Experiment, Variant
from mlpy.experiments.backends import StatsBackend
from mlpy.experiments.metrics import MetricSpec

EARLY_UNITS = 400
EARLY_RATES = {"control": 0.10, "candidate": 0.17}
LATE_UNITS = 3000
LATE_RATES = {"control": 0.05, "candidate": 0.35}
FLUSH_EVERY = 200
# The Experiment's spec (the e2e test adds apiVersion, kind and metadata).
SPEC: dict[str, Any] = {
    "model": "credit",
    "variants": [
        {"name": "control", "modelVersion": "credit-v1", "weight": 50},
        {"name": "candidate", "modelVersion": "credit-v2", "weight": 50},
    ],
    "strategy": "thompson-sampling",
    "metric": {"name": "conversion", "goal": "maximize", "type": "proportion"},
    "stopping": {"minSamplesPerVariant": 100, "confidence": 0.95, "maxDuration": "24h"},
    "promotion": "auto",
}


def converts(rate: float, index: int) -> bool:
    """Whether a variant's ``index``-th unit converts, so any prefix converts at ``rate`` within one unit."""
    return int((index + 1) * rate) > int(index * rate)


def traffic(
    name: str,
    backend: StatsBackend,
    units: int,
    rates: Mapping[str, float],
    seed: int,
    *,
    flush_every: int = FLUSH_EVERY,
) -> None:
    """What router replicas do: assign units, record outcomes, flush to the shared statistics."""
    experiment = Experiment(
        name,
        [Variant("control", 50, "credit-v1"), Variant("candidate", 50, "credit-v2")],
        strategy="thompson-sampling",
        metric=MetricSpec("conversion", goal="maximize", type="proportion"),
        backend=backend,
        auto_refresh=False,
        seed=seed,
    )
    experiment.refresh()
    seen = dict.fromkeys(rates, 0)
    for unit in range(units):
        variant = experiment.assign(f"user-{seed}-{unit}")
        experiment.record(variant, float(converts(rates[variant], seen[variant])))
        seen[variant] += 1
        if unit % flush_every == flush_every - 1:
            experiment.refresh()
    experiment.refresh()


def early(name: str, backend: StatsBackend) -> None:
    """Past the minimum sample, the candidate ahead but not yet significantly: the bandit should lean."""
    traffic(name, backend, EARLY_UNITS, EARLY_RATES, seed=1, flush_every=EARLY_UNITS)


def late(name: str, backend: StatsBackend) -> None:
    """The candidate far ahead, the routers' bandit sending it nearly all units: the test should ship."""
    traffic(name, backend, LATE_UNITS, LATE_RATES, seed=2)
