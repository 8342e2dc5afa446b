"""Shared statistics in Redis: one hash per experiment, incremented inside MULTI/EXEC."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlpy.experiments.errors import StatsBackendError
from mlpy.experiments.signing import new_signing_key
from mlpy.experiments.stats import PublishedWeights, VariantStats

KEY_PREFIX = "mlpy:experiment:"
_FIELDS = ("assigned", "expected", "n", "total", "total_sq")


# A repeat of feedback older than this counts again; far beyond any experiment's feedback delay.
CLAIM_TTL_S = 90 * 24 * 3600


def stats_key(experiment: str) -> str:
    return f"{KEY_PREFIX}{experiment}:stats"


def claims_prefix(experiment: str) -> str:
    return f"{KEY_PREFIX}{experiment}:feedback:"


def weights_key(experiment: str) -> str:
    return f"{KEY_PREFIX}{experiment}:weights"


# The revision and the weights change together: two admins publishing at once cannot leave the
# older weights under the newer revision.
_PUBLISH = """
local revision = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], revision .. ' ' .. ARGV[1])
return revision
"""


class RedisStats:
    """HINCRBY for counts and HINCRBYFLOAT for sums, queued in one transaction per flush."""

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - an optional extra
            raise StatsBackendError(
                "Redis support is not installed", hint="pip install 'mlpy[redis]'"
            ) from exc
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self.client: Any = redis.Redis.from_url(url)

    def add(self, experiment: str, deltas: Mapping[str, VariantStats]) -> None:
        key = stats_key(experiment)
        try:
            with self.client.pipeline(transaction=True) as pipe:
                for name, d in deltas.items():
                    if d.is_empty:
                        continue
                    pipe.hincrby(key, f"{name}\x00assigned", d.assigned)
                    pipe.hincrby(key, f"{name}\x00n", d.n)
                    pipe.hincrbyfloat(key, f"{name}\x00expected", d.expected)
                    pipe.hincrbyfloat(key, f"{name}\x00total", d.total)
                    pipe.hincrbyfloat(key, f"{name}\x00total_sq", d.total_sq)
                pipe.execute()
        except self._errors as exc:
            raise StatsBackendError(
                f"cannot update statistics of experiment {experiment!r} in Redis: {exc}",
                hint="check the Redis URL and that the server is running",
            ) from exc

    def load(self, experiment: str) -> dict[str, VariantStats]:
        try:
            raw: dict[bytes, bytes] = self.client.hgetall(stats_key(experiment))
        except self._errors as exc:
            raise StatsBackendError(
                f"cannot read statistics of experiment {experiment!r} from Redis: {exc}",
                hint="check the Redis URL and that the server is running",
            ) from exc
        fields: dict[str, dict[str, float]] = {}
        for field, value in raw.items():
            name, _, column = field.decode().rpartition("\x00")
            if column in _FIELDS:
                fields.setdefault(name, {})[column] = float(value)
        return {
            name: VariantStats(
                assigned=int(f.get("assigned", 0)),
                expected=f.get("expected", 0.0),
                n=int(f.get("n", 0)),
                total=f.get("total", 0.0),
                total_sq=f.get("total_sq", 0.0),
            )
            for name, f in fields.items()
        }

    def clear(self, experiment: str) -> None:
        try:
            # The revision counter stays: revisions only grow, whatever a replica last adopted.
            self.client.delete(stats_key(experiment), weights_key(experiment))
            claims = list(self.client.scan_iter(match=claims_prefix(experiment) + "*", count=1000))
            for start in range(0, len(claims), 1000):
                self.client.delete(*claims[start : start + 1000])
        except self._errors as exc:
            raise StatsBackendError(f"cannot clear experiment {experiment!r} in Redis: {exc}") from exc

    def signing_key(self, experiment: str) -> str:
        key = f"{KEY_PREFIX}{experiment}:signing-key"
        try:
            self.client.set(key, new_signing_key(), nx=True)
            value: bytes | None = self.client.get(key)
        except self._errors as exc:
            raise StatsBackendError(
                f"cannot read the signing key of experiment {experiment!r} from Redis: {exc}",
                hint="check the Redis URL and that the server is running",
            ) from exc
        assert value is not None
        return value.decode()

    def publish_weights(
        self, experiment: str, weights: Mapping[str, float], basis: str, reason: str = ""
    ) -> int:
        document = json.dumps({"basis": basis, "weights": dict(weights), "reason": reason}, sort_keys=True)
        key = weights_key(experiment)
        try:
            return int(self.client.eval(_PUBLISH, 2, f"{key}:revision", key, document))
        except self._errors as exc:
            raise StatsBackendError(
                f"cannot publish the weights of experiment {experiment!r} to Redis: {exc}",
                hint="check the Redis URL and that the server is running",
            ) from exc

    def published_weights(self, experiment: str) -> PublishedWeights | None:
        try:
            raw: bytes | None = self.client.get(weights_key(experiment))
        except self._errors as exc:
            raise StatsBackendError(
                f"cannot read the weights of experiment {experiment!r} from Redis: {exc}",
                hint="check the Redis URL and that the server is running",
            ) from exc
        if raw is None:
            return None
        revision, _, document = raw.decode().partition(" ")
        data = json.loads(document)
        weights = {k: float(v) for k, v in data["weights"].items()}
        return PublishedWeights(int(revision), str(data["basis"]), weights, str(data.get("reason", "")))

    def claim_feedback(self, experiment: str, request_id: str) -> bool:
        try:
            return bool(self.client.set(claims_prefix(experiment) + request_id, 1, nx=True, ex=CLAIM_TTL_S))
        except self._errors as exc:
            raise StatsBackendError(
                f"cannot record feedback of experiment {experiment!r} in Redis: {exc}",
                hint="check the Redis URL and that the server is running",
            ) from exc
