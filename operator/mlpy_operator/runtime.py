"""Process-wide operator state: configuration from the environment and the API client."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from mlpy.experiments.backends import StatsBackend, open_backend
from mlpy_operator.constants import DEFAULT_SERVER_IMAGE
from mlpy_operator.kube import Kube


@dataclass(frozen=True)
class OperatorConfig:
    server_image: str
    job_image: str
    metrics_port: int
    namespaces: tuple[str, ...]
    experiment_stats_url: str | None
    experiment_interval_s: float
    predlog_store_url: str | None
    pushgateway_url: str | None
    drift_job_service_account: str | None

    @classmethod
    def from_env(cls) -> OperatorConfig:
        namespaces = tuple(n for n in os.environ.get("MLPY_OPERATOR_NAMESPACES", "").split(",") if n.strip())
        server_image = os.environ.get("MLPY_SERVER_IMAGE", DEFAULT_SERVER_IMAGE)
        return cls(
            server_image=server_image,
            job_image=os.environ.get("MLPY_JOB_IMAGE", server_image),
            metrics_port=int(os.environ.get("MLPY_OPERATOR_METRICS_PORT", "8080")),
            namespaces=namespaces,
            # Where routers keep their shared statistics (Redis or a SQL URL); the operator reads them there.
            experiment_stats_url=os.environ.get("MLPY_EXPERIMENT_STATS") or None,
            experiment_interval_s=float(os.environ.get("MLPY_EXPERIMENT_INTERVAL", "15")),
            # Where serving pods log predictions; the drift jobs read their windows there.
            predlog_store_url=os.environ.get("MLPY_PREDLOG_STORE") or os.environ.get("MLPY_STORE") or None,
            pushgateway_url=os.environ.get("MLPY_PUSHGATEWAY") or None,
            # Set (by the Helm chart) when drift jobs share one account instead of one per monitor.
            drift_job_service_account=os.environ.get("MLPY_DRIFT_JOB_SERVICE_ACCOUNT") or None,
        )


@lru_cache(maxsize=1)
def config() -> OperatorConfig:
    return OperatorConfig.from_env()


@lru_cache(maxsize=1)
def kube() -> Kube:
    """In a pod, the ServiceAccount; elsewhere, KUBECONFIG (or ~/.kube/config)."""
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        # Read KUBECONFIG now: the client library reads it once, when it is first imported.
        k8s_config.load_kube_config(config_file=os.environ.get("KUBECONFIG") or None)  # type: ignore[no-untyped-call]
    return Kube(k8s.ApiClient())


@lru_cache(maxsize=1)
def stats_backend() -> StatsBackend | None:
    url = config().experiment_stats_url
    return open_backend(url) if url else None
