"""Process-wide operator state: configuration from the environment and the API client."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from mlpy.environment import Environment
from mlpy.experiments import StatsBackend, open_backend
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
    #: Pull secrets every child pod gets (the chart's global.imagePullSecrets).
    image_pull_secrets: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        """Every variable the chart sets (docs/kubernetes.md); a malformed one stops the operator at start."""
        read = Environment(env, error=OperatorError)
        server_image = read.text("MLPY_SERVER_IMAGE", DEFAULT_SERVER_IMAGE) or DEFAULT_SERVER_IMAGE
        return cls(
            server_image=server_image,
            job_image=read.text("MLPY_JOB_IMAGE", server_image) or server_image,
            metrics_port=read.integer("MLPY_OPERATOR_METRICS_PORT", 8080, minimum=0),
            namespaces=read.items("MLPY_OPERATOR_NAMESPACES"),
            # Where routers keep their shared statistics (Redis or a SQL URL); the operator reads them there.
            experiment_stats_url=read.text("MLPY_EXPERIMENT_STATS"),
            experiment_interval_s=read.number("MLPY_EXPERIMENT_INTERVAL", 15.0, 0.1, 86400.0),
            # Where serving pods log predictions; the drift jobs read their windows there.
            predlog_store_url=read.text("MLPY_PREDLOG_STORE") or read.text("MLPY_STORE"),
            pushgateway_url=read.text("MLPY_PUSHGATEWAY"),
            # Set (by the Helm chart) when drift jobs share one account instead of one per monitor.
            drift_job_service_account=read.text("MLPY_DRIFT_JOB_SERVICE_ACCOUNT"),
            predlog_sample_rate=read.number("MLPY_PREDLOG_SAMPLE_RATE", 1.0, 0.0, 1.0),
            s3_endpoint_url=read.text("MLPY_S3_ENDPOINT_URL"),
            stores_secret=read.text("MLPY_STORES_SECRET"),
            image_pull_secrets=read.items("MLPY_IMAGE_PULL_SECRETS"),
            child_resources=_resources(read.text("MLPY_CHILD_RESOURCES") or ""),
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
        return PodDefaults(
            image,
            env,
            self.stores_secret,
            dict(self.child_resources.get(kind) or {}),
            self.image_pull_secrets,
        )


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
def kube_client() -> Kube:
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
