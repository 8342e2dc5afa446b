"""Children of an Experiment: the router's configuration, Deployment and Service."""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from mlpy.experiments import Strategy
from mlpy_operator.builders.common import (
    DRAIN,
    PodDefaults,
    base_labels,
    container_security_context,
    env_list,
    metadata,
    pod_security_context,
)
from mlpy_operator.constants import LABEL_EXPERIMENT, LABEL_MODEL, SERVER_PORT
from mlpy_operator.pod_options import PodOptions, place
from mlpy_operator.specs import ExperimentSpec

CONFIG_KEY = "experiment.yaml"
#: The mirror's URL among the upstreams, beside the variants' (a variant name is a DNS label).
MIRROR = "~mirror"
CONFIG_PATH = "/etc/mlpy"


def router_name(experiment: str) -> str:
    return f"{experiment}-router"


def stats_key(namespace: str, experiment: str) -> str:
    """The name the router and the operator share statistics under: unique per namespace."""
    return f"{namespace}.{experiment}"


def router_labels(experiment: str, model: str) -> dict[str, str]:
    return base_labels("router", {LABEL_EXPERIMENT: experiment, LABEL_MODEL: model})


def router_selector(experiment: str) -> dict[str, str]:
    return {LABEL_EXPERIMENT: experiment}


def router_document(
    namespace: str,
    experiment: str,
    spec: ExperimentSpec,
    upstreams: dict[str, str],
    weights: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The router's experiment file: the CRD spec, each variant's upstream, and weights when overridden.

    A running canary starts at its first step; the operator publishes the next ones to the routers
    through the statistics backend (reconcile/canary.py), so the file, and the pods, stay the same."""
    config = spec.config
    first_step = None
    if weights is None and config.strategy is Strategy.canary:
        control, candidate = spec.variants
        first_step = config.canary.weights(control, candidate, config.canary.step_weight)
    variants = []
    for variant in spec.raw["variants"]:
        entry = {**variant, "upstream": upstreams[variant["name"]]}
        if weights is not None:
            entry["weight"] = round(weights.get(variant["name"], 0.0) * 100)
        elif first_step is not None:
            entry["weight"] = first_step[variant["name"]]
        variants.append(entry)
    routed = {**spec.raw, "variants": variants}
    if MIRROR in upstreams and spec.raw.get("mirror"):
        routed["mirror"] = {**spec.raw["mirror"], "upstream": upstreams[MIRROR]}
    if weights is not None:
        # Fixed weights from now on (a concluded experiment): the strategy must not move them again.
        routed["strategy"] = "weighted"
    return {"name": stats_key(namespace, experiment), "spec": routed}


def config_map(name: str, namespace: str, model: str, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(router_name(name), namespace, router_labels(name, model)),
        "data": {CONFIG_KEY: yaml.safe_dump(document, sort_keys=True)},
    }


def deployment(
    name: str,
    namespace: str,
    model: str,
    document: dict[str, Any],
    *,
    defaults: PodDefaults,
    replicas: int = 1,
    resources: dict[str, Any] | None = None,
    pod: PodOptions | None = None,
) -> dict[str, Any]:
    """The router: ``replicas`` pods (the production version's count, or the spec's), each with the
    spec's resources or the operator's defaults, and the stores from ``defaults``."""
    labels = router_labels(name, model)
    pod = pod or PodOptions()
    config_hash = hashlib.sha256(yaml.safe_dump(document, sort_keys=True).encode()).hexdigest()[:16]
    env = {"MLPY_EXPERIMENT": f"{CONFIG_PATH}/{CONFIG_KEY}", "MLPY_HOME": "/tmp/mlpy", **defaults.env}
    probe = {"port": "http"}
    container = {
        "name": "router",
        "image": defaults.image,
        "args": ["serve", "--host", "0.0.0.0", "--port", str(SERVER_PORT)],
        "env": env_list(env),
        "ports": [{"name": "http", "containerPort": SERVER_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", **probe}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", **probe}, "periodSeconds": 10},
        # Stopping waits until kube-proxy has taken the pod out of its Services: no request meets
        # a closed port during a rollout or a promotion.
        "lifecycle": DRAIN,
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_PATH, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(router_name(name), namespace, labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": router_selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": place(
                {
                    # A new configuration (e.g. all traffic to the winner) rolls the router pods.
                    "metadata": {"labels": dict(labels), "annotations": {"mlpy.io/config-hash": config_hash}},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(),
                        "containers": [defaults.container(container, resources)],
                        "volumes": [
                            {"name": "config", "configMap": {"name": router_name(name)}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
                pod,
                defaults.image_pull_secrets,
            ),
        },
    }


def disruption_budget(name: str, namespace: str, model: str) -> dict[str, Any]:
    """Voluntary disruptions (a node drain) take the router's pods one at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(router_name(name), namespace, router_labels(name, model)),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": router_selector(name)}},
    }


def service(name: str, namespace: str, model: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(router_name(name), namespace, router_labels(name, model)),
        "spec": {
            "type": "ClusterIP",
            "selector": router_selector(name),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
