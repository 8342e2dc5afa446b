"""Guardrails: bounds on each candidate variant's error rate and p99 latency, watched by the router.

They protect production before any business metric is significant, as a canary analysis does in
Flagger or Argo Rollouts: the router counts, per variant, the requests it forwarded, those that
failed (a 5xx answer, a timeout, an unreachable variant) and their latency. Every ``interval`` it
closes the window; a variant that breaches a bound in ``consecutive`` windows in a row (each with at
least ``min_requests`` requests, so a handful of calls cannot trip it) is rolled back: its weight goes
to 0 on every replica (published through the statistics backend, with the reason) and the experiment
says so. The control is production and is never rolled back by its own guardrails.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpy.experiments.errors import InvalidExperimentError

#: Latencies kept per variant and window for the p99 (a uniform sample beyond that).
SAMPLE_SIZE = 5000


@dataclass(frozen=True)
class Guardrails:
    """The bounds, from the experiment's ``guardrails`` (camelCase or snake_case keys)."""

    max_error_rate: float | None = None
    max_p99_ms: float | None = None
    consecutive: int = 3
    min_requests: int = 20
    interval_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_error_rate is not None and not 0 <= self.max_error_rate < 1:
            raise InvalidExperimentError(
                f"guardrails.maxErrorRate {self.max_error_rate} is outside [0, 1)", hint="e.g. 0.05"
            )
        if self.max_p99_ms is not None and not self.max_p99_ms > 0:
            raise InvalidExperimentError(
                f"guardrails.maxP99Ms {self.max_p99_ms} must be above 0", hint="e.g. 500"
            )
        if self.consecutive < 1 or self.min_requests < 1 or not self.interval_s > 0:
            raise InvalidExperimentError(
                "guardrails.consecutive, minRequests and intervalSeconds must be above 0",
                hint="e.g. consecutive: 3, minRequests: 20, intervalSeconds: 10",
            )

    @property
    def enabled(self) -> bool:
        return self.max_error_rate is not None or self.max_p99_ms is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Guardrails:
        data = data or {}

        def pick(default: Any, *keys: str) -> Any:
            return next((data[k] for k in keys if data.get(k) is not None), default)

        try:
            rate, p99 = pick(None, "maxErrorRate", "max_error_rate"), pick(None, "maxP99Ms", "max_p99_ms")
            return cls(
                max_error_rate=None if rate is None else float(rate),
                max_p99_ms=None if p99 is None else float(p99),
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

    def close_window(self) -> Breach | None:
        """Judge the window that ends now; the first variant to reach ``consecutive`` breaches."""
        with self._lock:
            closed, self._open = self._open, {name: _Window() for name in self.candidates}
        found: Breach | None = None
        for name, window in closed.items():
            problems = self._problems(window)
            if problems is None:  # too few requests to judge: the count neither grows nor resets
                pass
            elif problems:
                self.breaches[name] += 1
            else:
                self.breaches[name] = 0
            p99 = window.p99_ms()
            self.last[name] = {
                "requests": window.requests,
                "errors": window.errors,
                "errorRate": window.errors / window.requests if window.requests else None,
                "p99Ms": None if p99 is None else round(p99, 3),
                "consecutiveBreaches": self.breaches[name],
            }
            if found is None and problems and self.breaches[name] >= self.guardrails.consecutive:
                found = Breach(
                    name,
                    f"variant {name} breached its guardrails in {self.breaches[name]} consecutive "
                    f"windows of {self.guardrails.interval_s:g}s: {'; '.join(problems)}",
                )
        return found

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


def without(weights: Mapping[str, float], variant: str, control: str) -> dict[str, float]:
    """The weights with ``variant`` at 0; the control takes all when nothing else is left."""
    kept = {name: (0.0 if name == variant else float(w)) for name, w in weights.items()}
    if not any(w > 0 for w in kept.values()):
        kept[control] = 1.0
    return kept
