"""Server settings, read once from the environment (the operator's Deployment sets exactly these).

Every variable is documented in docs/server.md; a malformed value stops start-up with a message
naming the variable, instead of a server that half works.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from mlpy.config import Locations
from mlpy_server.errors import ServerConfigError

MiB = 1024 * 1024


@dataclass(frozen=True)
class UriModel:
    """A model given by artifact URI and hash instead of a registry id (no metadata store needed)."""

    uri: str
    sha256: str
    format: str = "skops"
    name: str = "model"
    version: str = "1"


@dataclass(frozen=True)
class ServerSettings:
    models: tuple[str, ...] = ()
    uri_model: UriModel | None = None
    store_url: str | None = None
    artifacts_url: str | None = None
    trust_pickle: bool = False
    trusted_types: tuple[str, ...] = ()
    # "name:role:sha256hex" entries; never the keys themselves.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    jwt_secret: str | None = field(default=None, repr=False)
    jwt_public_key: str | None = field(default=None, repr=False)
    jwt_algorithms: tuple[str, ...] = ("HS256", "RS256", "ES256")
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_role_claim: str = "role"
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 8 * MiB
    max_batch_rows: int = 10_000
    # Requests with at most this many rows predict on the event loop: cheaper than a thread hop.
    inline_rows: int = 256
    predlog_sample_rate: float = 0.0
    predlog_store_url: str | None = None
    predlog_queue_size: int = 10_000
    predlog_batch_size: int = 500
    monitoring: bool = False
    # Request metrics (latency, counts, errors); off only to measure what they cost.
    request_metrics: bool = True
    # Verified numpy shortcuts for linear models (fastpath.py); off to compare with plain predict().
    fast_predict: bool = True
    access_log: bool = False
    load_retry_max_s: float = 30.0
    # Seconds a worker may spend loading its models before it accepts connections (0: accept at once).
    # With several workers on one socket, only workers that can answer then take requests.
    startup_load_wait_s: float = 0.0
    # Router mode.
    experiment: str | None = None
    upstreams: Mapping[str, str] = field(default_factory=dict)
    experiment_stats_url: str | None = None
    upstream_timeout_s: float = 10.0

    @property
    def locations(self) -> Locations:
        return Locations.resolve(self.store_url, self.artifacts_url)

    @property
    def router_mode(self) -> bool:
        return self.experiment is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        e = os.environ if env is None else env
        uri_model = None
        if e.get("MLPY_MODEL_URI"):
            sha = e.get("MLPY_MODEL_SHA256", "").strip().lower()
            if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise ServerConfigError(
                    "MLPY_MODEL_URI is set but MLPY_MODEL_SHA256 is not a 64-digit hex SHA-256",
                    hint="set MLPY_MODEL_SHA256 to the artifact's hash (mlpy registry show prints it)",
                )
            uri_model = UriModel(
                uri=e["MLPY_MODEL_URI"],
                sha256=sha,
                format=e.get("MLPY_MODEL_FORMAT", "skops") or "skops",
                name=e.get("MLPY_MODEL_NAME", "model") or "model",
                version=e.get("MLPY_MODEL_VERSION", "1") or "1",
            )
        return cls(
            models=_split(e.get("MLPY_SERVE_MODELS")),
            uri_model=uri_model,
            store_url=e.get("MLPY_STORE") or None,
            artifacts_url=e.get("MLPY_ARTIFACTS") or None,
            trust_pickle=_bool(e, "MLPY_MODEL_TRUST_PICKLE", False),
            trusted_types=_split(e.get("MLPY_MODEL_TRUSTED_TYPES")),
            api_keys=_split(e.get("MLPY_API_KEYS")),
            jwt_secret=e.get("MLPY_JWT_SECRET") or None,
            jwt_public_key=e.get("MLPY_JWT_PUBLIC_KEY") or None,
            jwt_algorithms=_split(e.get("MLPY_JWT_ALGORITHMS")) or cls.jwt_algorithms,
            jwt_audience=e.get("MLPY_JWT_AUDIENCE") or None,
            jwt_issuer=e.get("MLPY_JWT_ISSUER") or None,
            jwt_role_claim=e.get("MLPY_JWT_ROLE_CLAIM") or "role",
            cors_origins=_split(e.get("MLPY_CORS_ORIGINS")),
            max_body_bytes=_int(e, "MLPY_MAX_BODY_BYTES", cls.max_body_bytes, minimum=1024),
            max_batch_rows=_int(e, "MLPY_MAX_BATCH_ROWS", cls.max_batch_rows, minimum=1),
            inline_rows=_int(e, "MLPY_INLINE_ROWS", cls.inline_rows, minimum=0),
            predlog_sample_rate=_float(e, "MLPY_PREDLOG_SAMPLE_RATE", 0.0, 0.0, 1.0),
            predlog_store_url=e.get("MLPY_PREDLOG_STORE") or None,
            predlog_queue_size=_int(e, "MLPY_PREDLOG_QUEUE_SIZE", cls.predlog_queue_size, minimum=1),
            predlog_batch_size=_int(e, "MLPY_PREDLOG_BATCH_SIZE", cls.predlog_batch_size, minimum=1),
            monitoring=_bool(e, "MLPY_MONITORING", False),
            startup_load_wait_s=_float(e, "MLPY_STARTUP_LOAD_WAIT_S", 0.0, 0.0, 3600.0),
            request_metrics=_bool(e, "MLPY_REQUEST_METRICS", True),
            fast_predict=_bool(e, "MLPY_FAST_PREDICT", True),
            access_log=_bool(e, "MLPY_ACCESS_LOG", False),
            experiment=e.get("MLPY_EXPERIMENT") or None,
            upstreams=parse_upstreams(_split(e.get("MLPY_ROUTER_UPSTREAMS"))),
            experiment_stats_url=e.get("MLPY_EXPERIMENT_STATS") or None,
            upstream_timeout_s=_float(e, "MLPY_UPSTREAM_TIMEOUT_S", 10.0, 0.001, 3600.0),
        )


def parse_upstreams(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``variant=http://host:port`` pairs."""
    upstreams: dict[str, str] = {}
    for pair in pairs:
        variant, sep, url = pair.partition("=")
        if not sep or not variant.strip() or not url.strip().startswith("http://"):
            raise ServerConfigError(
                f"bad upstream {pair!r}",
                hint="use VARIANT=http://HOST:PORT, e.g. B=http://model-b:8080 (the hop in the cluster is "
                "plain HTTP; terminate TLS at the ingress or the mesh)",
            )
        upstreams[variant.strip()] = url.strip().rstrip("/")
    return upstreams


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ServerConfigError(f"{name}={raw!r} is not a boolean", hint=f"set {name} to true or false")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ServerConfigError(f"{name}={raw!r} is not an integer", hint=f"set {name} to a number") from exc
    if value < minimum:
        raise ServerConfigError(f"{name}={value} is too small", hint=f"set {name} to at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ServerConfigError(f"{name}={raw!r} is not a number", hint=f"set {name} to a number") from exc
    if not low <= value <= high:
        raise ServerConfigError(f"{name}={value} is out of range", hint=f"use a value in [{low}, {high}]")
    return value
