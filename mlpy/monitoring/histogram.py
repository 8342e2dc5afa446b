"""Fixed latency histogram bins, so buckets from any process and minute add up, and percentiles from them."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping

import numpy as np

# 1 ms to 60 s, geometric: about 8% relative resolution for percentiles, the same in every process.
LATENCY_EDGES_S: tuple[float, ...] = tuple(float(e) for e in np.geomspace(0.001, 60.0, 144))


def latency_bin(latency_s: float) -> int:
    """Bin ``i`` holds latencies in [edge[i-1], edge[i]); bin 0 is below 1 ms, the last above 60 s."""
    return bisect.bisect_right(LATENCY_EDGES_S, latency_s)


def percentile(bins: Mapping[int, int], q: float, maximum: float) -> float | None:
    """The q-th percentile (0-100), interpolated within its bin; ``maximum`` bounds the open last bin."""
    total = sum(bins.values())
    if total == 0:
        return None
    target = q / 100 * total
    seen = 0
    for index in sorted(bins):
        count = bins[index]
        if seen + count >= target and count > 0:
            low = 0.0 if index == 0 else LATENCY_EDGES_S[index - 1]
            high = LATENCY_EDGES_S[index] if index < len(LATENCY_EDGES_S) else maximum
            high = max(low, min(high, maximum))  # the observed maximum bounds the top bin
            fraction = (target - seen) / count
            return low + (high - low) * fraction
        seen += count
    return maximum if math.isfinite(maximum) else None
