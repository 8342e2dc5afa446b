"""Process-wide operator state: configuration from the environment and the API client."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from mlpy.experiments.backends import StatsBackend, open_backend
from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.constants import DEFAULT_SERVER_IMAGE
from mlpy_operator.errors import OperatorError
from mlpy_operator.kube import Kube

PodKind = Literal["server", "router", "driftJob"]


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
    #: Share of requests serving pods log (when there is a prediction-log store).
    predlog_sample_rate: float = 1.0
    s3_endpoint_url: str | None = None
    #: A Secret in each namespace whose keys every pod the operator creates gets as variables.
    stores_secret: str | None = None
    #: Default resources of the children, by kind (a resource's spec wins).
    child_resources: dict[str, dict[str, Any]] = field(default_factory=dict)

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
            predlog_sample_rate=_rate(os.environ.get("MLPY_PREDLOG_SAMPLE_RATE", "1")),
            s3_endpoint_url=os.environ.get("MLPY_S3_ENDPOINT_URL") or None,
            stores_secret=os.environ.get("MLPY_STORES_SECRET") or None,
            child_resources=_resources(os.environ.get("MLPY_CHILD_RESOURCES", "")),
        )

    def pods(self, kind: PodKind) -> PodDefaults:
        """What the operator gives every pod of ``kind``: image, stores, credentials, resources."""
        env: dict[str, str] = {}
        if kind == "server" and self.predlog_store_url:
            env["MLPY_PREDLOG_STORE"] = self.predlog_store_url
            env["MLPY_PREDLOG_SAMPLE_RATE"] = f"{self.predlog_sample_rate:g}"
        if kind == "router" and self.experiment_stats_url:
            env["MLPY_EXPERIMENT_STATS"] = self.experiment_stats_url
        if kind == "driftJob":
            if self.predlog_store_url:
                env["MLPY_STORE"] = self.predlog_store_url  # the job reads the logged window there
            if self.pushgateway_url:
                env["MLPY_PUSHGATEWAY"] = self.pushgateway_url
        if kind != "router" and self.s3_endpoint_url:
            env["MLPY_S3_ENDPOINT_URL"] = self.s3_endpoint_url
        image = self.job_image if kind == "driftJob" else self.server_image
        return PodDefaults(image, env, self.stores_secret, dict(self.child_resources.get(kind) or {}))


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise OperatorError(f"MLPY_PREDLOG_SAMPLE_RATE={text!r} is not a share between 0 and 1")
    return rate


def _resources(text: str) -> dict[str, dict[str, Any]]:
    """``{"server": {...}, "router": {...}, "driftJob": {...}}``: the chart's children.resources."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise OperatorError(f"MLPY_CHILD_RESOURCES is not JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise OperatorError("MLPY_CHILD_RESOURCES must map server, router and driftJob to resources")
    return value


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
