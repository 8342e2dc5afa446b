"""Server settings, read once from the environment (the operator's Deployment sets exactly these).

Every variable is documented in docs/server.md; a malformed value stops start-up with a message
naming the variable, instead of a server that half works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from mlpy.config import Locations
from mlpy.environment import Environment
from mlpy.errors import MlpyError
from mlpy.registry import check_sensitive_features
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
    # The group attributes its requests may carry (what the registry's mlpy.fairness.groups tag says).
    sensitive_features: tuple[str, ...] = ()


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
    # Adaptive batching (batching.py): concurrent small requests for a model merged into one predict
    # call of at most this many rows (0 or 1: off), waiting at most batching_max_wait_s for company.
    batching_max_rows: int = 0
    batching_max_wait_s: float = 0.005
    # Per model name, overriding the two above: (name, max rows, max wait in seconds).
    batching_models: tuple[tuple[str, int, float], ...] = ()
    predlog_sample_rate: float = 0.0
    predlog_store_url: str | None = None
    predlog_queue_size: int = 10_000
    predlog_batch_size: int = 500
    monitoring: bool = False
    # Request metrics (latency, counts, errors); off only to measure what they cost.
    request_metrics: bool = True
    # Verified numpy shortcuts for linear models (fastpath.py); off to compare with plain predict().
    fast_predict: bool = True
    # Models the linear shortcut does not answer are compiled at load (ONNX Runtime, else treelite) and
    # served so once they agree with scikit-learn (mlpy.compiled; needs the compiled extra).
    compiled: bool = False
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
    # The Open Inference Protocol over gRPC (v2_grpc.py), on its own port; off when None.
    grpc_port: int | None = None
    grpc_host: str = "127.0.0.1"

    @cached_property
    def locations(self) -> Locations:
        """The metadata and artifact stores, resolved once (defaults from MLPY_HOME and the like)."""
        return Locations.resolve(self.store_url, self.artifacts_url)

    @property
    def router_mode(self) -> bool:
        return self.experiment is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        read = Environment(env, error=ServerConfigError)
        uri_model = None
        uri = read.text("MLPY_MODEL_URI")
        if uri:
            sha = (read.text("MLPY_MODEL_SHA256") or "").strip().lower()
            if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise ServerConfigError(
                    "MLPY_MODEL_URI is set but MLPY_MODEL_SHA256 is not a 64-digit hex SHA-256",
                    hint="set MLPY_MODEL_SHA256 to the artifact's hash (mlpy registry show prints it)",
                )
            uri_model = UriModel(
                uri=uri,
                sha256=sha,
                format=read.text("MLPY_MODEL_FORMAT", "skops") or "skops",
                name=read.text("MLPY_MODEL_NAME", "model") or "model",
                version=read.text("MLPY_MODEL_VERSION", "1") or "1",
                sensitive_features=_sensitive_features(read.items("MLPY_MODEL_SENSITIVE_FEATURES")),
            )
        return cls(
            models=read.items("MLPY_SERVE_MODELS"),
            uri_model=uri_model,
            store_url=read.text("MLPY_STORE"),
            artifacts_url=read.text("MLPY_ARTIFACTS"),
            trust_pickle=read.flag("MLPY_MODEL_TRUST_PICKLE", False),
            trusted_types=read.items("MLPY_MODEL_TRUSTED_TYPES"),
            api_keys=read.items("MLPY_API_KEYS"),
            jwt_secret=read.text("MLPY_JWT_SECRET"),
            jwt_public_key=read.text("MLPY_JWT_PUBLIC_KEY"),
            jwt_algorithms=read.items("MLPY_JWT_ALGORITHMS") or cls.jwt_algorithms,
            jwt_audience=read.text("MLPY_JWT_AUDIENCE"),
            jwt_issuer=read.text("MLPY_JWT_ISSUER"),
            jwt_role_claim=read.text("MLPY_JWT_ROLE_CLAIM", "role") or "role",
            cors_origins=read.items("MLPY_CORS_ORIGINS"),
            max_body_bytes=read.integer("MLPY_MAX_BODY_BYTES", cls.max_body_bytes, minimum=1024),
            max_batch_rows=read.integer("MLPY_MAX_BATCH_ROWS", cls.max_batch_rows, minimum=1),
            inline_rows=read.integer("MLPY_INLINE_ROWS", cls.inline_rows, minimum=0),
            batching_max_rows=read.integer("MLPY_BATCHING_MAX_ROWS", cls.batching_max_rows, minimum=0),
            batching_max_wait_s=read.number("MLPY_BATCHING_MAX_WAIT_MS", 5.0, 0.0, 1000.0) / 1000,
            batching_models=_batching_models(read),
            predlog_sample_rate=read.number("MLPY_PREDLOG_SAMPLE_RATE", 0.0, 0.0, 1.0),
            predlog_store_url=read.text("MLPY_PREDLOG_STORE"),
            predlog_queue_size=read.integer("MLPY_PREDLOG_QUEUE_SIZE", cls.predlog_queue_size, minimum=1),
            predlog_batch_size=read.integer("MLPY_PREDLOG_BATCH_SIZE", cls.predlog_batch_size, minimum=1),
            monitoring=read.flag("MLPY_MONITORING", False),
            startup_load_wait_s=read.number("MLPY_STARTUP_LOAD_WAIT_S", 0.0, 0.0, 3600.0),
            request_metrics=read.flag("MLPY_REQUEST_METRICS", True),
            fast_predict=read.flag("MLPY_FAST_PREDICT", True),
            compiled=read.flag("MLPY_COMPILED", False),
            access_log=read.flag("MLPY_ACCESS_LOG", False),
            experiment=read.text("MLPY_EXPERIMENT"),
            upstreams=parse_upstreams(read.items("MLPY_ROUTER_UPSTREAMS")),
            experiment_stats_url=read.text("MLPY_EXPERIMENT_STATS"),
            upstream_timeout_s=read.number("MLPY_UPSTREAM_TIMEOUT_S", 10.0, 0.001, 3600.0),
            grpc_port=_grpc_port(read),
            grpc_host=read.text("MLPY_GRPC_HOST", cls.grpc_host) or cls.grpc_host,
        )


def _grpc_port(read: Environment) -> int | None:
    if not read.text("MLPY_GRPC_PORT"):
        return None
    port = read.integer("MLPY_GRPC_PORT", 0, minimum=0)
    if port > 65535:
        raise ServerConfigError(f"MLPY_GRPC_PORT={port} is not a port", hint="set a port from 1 to 65535")
    return port


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


def _batching_models(read: Environment) -> tuple[tuple[str, int, float], ...]:
    """``MLPY_BATCHING_MODELS=forest=64,churn=0,pipeline=32:2``: NAME=ROWS[:WAIT_MS] per model."""
    default_wait = read.number("MLPY_BATCHING_MAX_WAIT_MS", 5.0, 0.0, 1000.0)
    parsed: list[tuple[str, int, float]] = []
    for item in read.items("MLPY_BATCHING_MODELS"):
        name, _, value = item.partition("=")
        rows, _, wait = value.partition(":")
        try:
            max_rows, wait_ms = int(rows), float(wait) if wait else default_wait
        except ValueError:
            max_rows, wait_ms = -1, -1.0
        if not name.strip() or max_rows < 0 or not 0 <= wait_ms <= 1000:
            raise ServerConfigError(
                f"MLPY_BATCHING_MODELS entry {item!r} is not NAME=ROWS or NAME=ROWS:WAIT_MS",
                hint="for example MLPY_BATCHING_MODELS=forest=64,churn=0 (0 turns batching off for churn)",
            )
        parsed.append((name.strip(), max_rows, wait_ms / 1000))
    return tuple(parsed)


def _sensitive_features(names: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return check_sensitive_features(names)
    except MlpyError as exc:
        raise ServerConfigError(f"MLPY_MODEL_SENSITIVE_FEATURES: {exc}", hint="e.g. sex,age_band") from exc
