"""Guardrails: bounds on each candidate variant's error rate, p99 latency and fairness gap, watched by
the router.

They protect production before any business metric is significant, as a canary analysis does in
Flagger or Argo Rollouts: the router counts, per variant, the requests it forwarded, those that
failed (a 5xx answer, a timeout, an unreachable variant) and their latency. Every ``interval`` it
closes the window; a variant that breaches a bound in ``consecutive`` windows in a row (each with at
least ``min_requests`` requests, so a handful of calls cannot trip it) is rolled back: its weight goes
to 0 on every replica (published through the statistics backend, with the reason) and the experiment
says so. The control is production and is never rolled back by its own guardrails. Every window closed
is also counted in the backend (``WINDOWS``): a canary's step advances only after windows that held.

The fairness gap (``maxFairnessGap``, of ``fairnessMetric``) is not counted by the router itself: it is
read from the prediction log's labelled rows of each variant since the experiment began (the variants'
servers log the group attributes, feedback the outcomes; docs/fairness.md), and judged at each window's
close on the attributes whose every group has ``minRequests`` samples.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpy.experiments.errors import InvalidExperimentError
from mlpy.experiments.stats import VariantStats

#: Each candidate's windows travel to the operator beside the variants' statistics, additive, under
#: this prefix and its name (a variant name is a DNS label and cannot start with ``~``, as the mirror's):
#: ``assigned`` counts windows closed, ``n`` those judged (enough requests) and ``total`` those breached.
WINDOWS = "~guardrails-"
#: Latencies kept per variant and window for the p99 (a uniform sample beyond that).
SAMPLE_SIZE = 5000
#: The gaps a fairness guardrail may bound (fairlearn's names, as mlpy.monitoring reports them).
FAIRNESS_GAPS = ("demographic_parity_difference", "equalized_odds_difference")
#: Per variant, per sensitive feature: the gaps and the smallest group's samples.
VariantFairness = Mapping[str, Mapping[str, Mapping[str, float]]]


@dataclass(frozen=True)
class Guardrails:
    """The bounds, from the experiment's ``guardrails`` (camelCase or snake_case keys)."""

    max_error_rate: float | None = None
    max_p99_ms: float | None = None
    consecutive: int = 3
    min_requests: int = 20
    interval_s: float = 10.0
    max_fairness_gap: float | None = None
    fairness_metric: str = FAIRNESS_GAPS[0]

    def __post_init__(self) -> None:
        if self.max_error_rate is not None and not 0 <= self.max_error_rate < 1:
            raise InvalidExperimentError(
                f"guardrails.maxErrorRate {self.max_error_rate} is outside [0, 1)", hint="e.g. 0.05"
            )
        if self.max_p99_ms is not None and not self.max_p99_ms > 0:
            raise InvalidExperimentError(
                f"guardrails.maxP99Ms {self.max_p99_ms} must be above 0", hint="e.g. 500"
            )
        if self.max_fairness_gap is not None and not 0 <= self.max_fairness_gap < 1:
            raise InvalidExperimentError(
                f"guardrails.maxFairnessGap {self.max_fairness_gap} is outside [0, 1)", hint="e.g. 0.1"
            )
        if self.fairness_metric not in FAIRNESS_GAPS:
            raise InvalidExperimentError(
                f"guardrails.fairnessMetric {self.fairness_metric!r} is not a fairness gap",
                hint=f"use {' or '.join(FAIRNESS_GAPS)}",
            )
        if self.consecutive < 1 or self.min_requests < 1 or not self.interval_s > 0:
            raise InvalidExperimentError(
                "guardrails.consecutive, minRequests and intervalSeconds must be above 0",
                hint="e.g. consecutive: 3, minRequests: 20, intervalSeconds: 10",
            )

    @property
    def enabled(self) -> bool:
        return self.max_error_rate is not None or self.max_p99_ms is not None or self.fair

    @property
    def fair(self) -> bool:
        """Whether a fairness gap is bounded (the router then reads the prediction log)."""
        return self.max_fairness_gap is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Guardrails:
        data = data or {}

        def pick(default: Any, *keys: str) -> Any:
            return next((data[k] for k in keys if data.get(k) is not None), default)

        try:
            rate, p99 = pick(None, "maxErrorRate", "max_error_rate"), pick(None, "maxP99Ms", "max_p99_ms")
            gap = pick(None, "maxFairnessGap", "max_fairness_gap")
            return cls(
                max_error_rate=None if rate is None else float(rate),
                max_p99_ms=None if p99 is None else float(p99),
                max_fairness_gap=None if gap is None else float(gap),
                fairness_metric=str(pick(FAIRNESS_GAPS[0], "fairnessMetric", "fairness_metric")),
                consecutive=int(pick(3, "consecutive")),
                min_requests=int(pick(20, "minRequests", "min_requests")),
                interval_s=float(pick(10.0, "intervalSeconds", "interval_s")),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidExperimentError(
                f"guardrails: {exc}", hint="bounds are numbers, e.g. maxErrorRate: 0.05, maxP99Ms: 500"
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "maxErrorRate": self.max_error_rate,
            "maxP99Ms": self.max_p99_ms,
            "maxFairnessGap": self.max_fairness_gap,
            "fairnessMetric": self.fairness_metric,
            "consecutive": self.consecutive,
            "minRequests": self.min_requests,
            "intervalSeconds": self.interval_s,
        }


@dataclass
class _Window:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    def p99_ms(self) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


@dataclass(frozen=True)
class GuardrailWindows:
    """A candidate's guardrail windows closed by every router replica so far: a canary's step advances
    only when its windows held (operator/mlpy_operator/reconcile/canary.py)."""

    closed: int = 0
    judged: int = 0
    breached: int = 0

    @classmethod
    def of(cls, stats: Mapping[str, VariantStats], variant: str) -> GuardrailWindows:
        found = stats.get(WINDOWS + variant, VariantStats())
        return cls(found.assigned, found.n, round(found.total))


@dataclass(frozen=True)
class Breach:
    """A variant to roll back, and why (said in the experiment's status and its Warning Event)."""

    variant: str
    reason: str


class GuardrailWatch:
    """One router replica's view: ``observe`` per forwarded request (cheap, any thread), and
    ``close_window`` every ``interval`` to judge the window that ends."""

    def __init__(self, guardrails: Guardrails, candidates: list[str], seed: int | None = None) -> None:
        self.guardrails = guardrails
        self.candidates = tuple(candidates)
        self._lock = threading.Lock()
        self._open = {name: _Window() for name in candidates}
        self._random = random.Random(seed)
        self.breaches = dict.fromkeys(candidates, 0)
        self.last: dict[str, dict[str, Any]] = {}
        self._windows: dict[str, VariantStats] = {}

    def observe(self, variant: str, seconds: float, failed: bool) -> None:
        window = self._open.get(variant)
        if window is None:
            return  # the control: production is not judged by its own guardrails
        with self._lock:
            window.requests += 1
            window.errors += failed
            if len(window.latencies) < SAMPLE_SIZE:
                window.latencies.append(seconds)
            else:  # reservoir sampling keeps a uniform sample of the window's latencies
                slot = self._random.randrange(window.requests)
                if slot < SAMPLE_SIZE:
                    window.latencies[slot] = seconds

    def close_window(self, fairness: VariantFairness | None = None) -> Breach | None:
        """Judge the window that ends now; the first variant to reach ``consecutive`` breaches.

        ``fairness``: each variant's figures per sensitive feature so far, when a gap is bounded.
        """
        with self._lock:
            closed, self._open = self._open, {name: _Window() for name in self.candidates}
        found: Breach | None = None
        for name, window in closed.items():
            gap = self._fairness_gap((fairness or {}).get(name) or {})
            problems = _joined(self._problems(window), self._fairness_problems(gap))
            if problems is None:  # too few requests to judge: the count neither grows nor resets
                pass
            elif problems:
                self.breaches[name] += 1
            else:
                self.breaches[name] = 0
            judged = VariantStats(assigned=1, n=int(problems is not None), total=float(bool(problems)))
            self._windows[WINDOWS + name] = self._windows.get(WINDOWS + name, VariantStats()) + judged
            p99 = window.p99_ms()
            self.last[name] = {
                "requests": window.requests,
                "errors": window.errors,
                "errorRate": window.errors / window.requests if window.requests else None,
                "p99Ms": None if p99 is None else round(p99, 3),
                "fairnessGap": None if gap is None else round(gap, 4),
                "consecutiveBreaches": self.breaches[name],
            }
            if found is None and problems and self.breaches[name] >= self.guardrails.consecutive:
                found = Breach(
                    name,
                    f"variant {name} breached its guardrails in {self.breaches[name]} consecutive "
                    f"windows of {self.guardrails.interval_s:g}s: {'; '.join(problems)}",
                )
        return found

    def take_windows(self) -> dict[str, VariantStats]:
        """The windows closed since the last call, for the statistics backend's ``add``."""
        taken, self._windows = self._windows, {}
        return taken

    def keep_windows(self, windows: Mapping[str, VariantStats]) -> None:
        """Windows a failed ``add`` could not deliver: they go out with the next ones."""
        for name, counts in windows.items():
            self._windows[name] = self._windows.get(name, VariantStats()) + counts

    def _problems(self, window: _Window) -> list[str] | None:
        bounds = self.guardrails
        if window.requests < bounds.min_requests:
            return None
        problems = []
        rate = window.errors / window.requests
        if bounds.max_error_rate is not None and rate > bounds.max_error_rate:
            problems.append(f"error rate {rate:.1%} above {bounds.max_error_rate:.1%}")
        p99 = window.p99_ms()
        if bounds.max_p99_ms is not None and p99 is not None and p99 > bounds.max_p99_ms:
            problems.append(f"p99 latency {p99:.0f} ms above {bounds.max_p99_ms:g} ms")
        return problems

    def _fairness_gap(self, attributes: Mapping[str, Mapping[str, float]]) -> float | None:
        """The largest bounded gap among the attributes whose every group has ``min_requests`` samples."""
        bounds = self.guardrails
        gaps = [
            float(figures[bounds.fairness_metric])
            for figures in attributes.values()
            if figures.get("min_group_samples", 0) >= bounds.min_requests
            and figures.get(bounds.fairness_metric) is not None
        ]
        return max(gaps) if gaps and bounds.fair else None

    def _fairness_problems(self, gap: float | None) -> list[str] | None:
        bound = self.guardrails.max_fairness_gap
        if gap is None or bound is None:
            return None
        metric = self.guardrails.fairness_metric
        return [f"{metric} {gap:.3f} above {bound:g}"] if gap > bound else []


def _joined(first: list[str] | None, second: list[str] | None) -> list[str] | None:
    """Problems of two judgements; None only when neither could judge."""
    if first is None and second is None:
        return None
    return (first or []) + (second or [])


def without(weights: Mapping[str, float], variant: str, control: str) -> dict[str, float]:
    """The weights with ``variant`` at 0; the control takes all when nothing else is left."""
    kept = {name: (0.0 if name == variant else float(w)) for name, w in weights.items()}
    if not any(w > 0 for w in kept.values()):
        kept[control] = 1.0
    return kept
