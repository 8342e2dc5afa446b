"""Children of a ModelVersion: its serving Deployment and Service, and the model's stable Service."""

from __future__ import annotations

from typing import Any

from mlpy_operator.builders.common import (
    DRAIN,
    PodDefaults,
    base_labels,
    container_security_context,
    env_list,
    merge_env,
    metadata,
    pod_security_context,
)
from mlpy_operator.constants import (
    ARTIFACT_ANNOTATION,
    GRPC_PORT,
    LABEL_EXPERIMENT,
    LABEL_MODEL,
    LABEL_MODEL_VERSION,
    LABEL_VERSION,
    SERVER_PORT,
)
from mlpy_operator.pod_options import place
from mlpy_operator.specs import ModelVersionSpec


def version_labels(name: str, spec: ModelVersionSpec) -> dict[str, str]:
    return base_labels(
        "model-server",
        {LABEL_MODEL: spec.model, LABEL_VERSION: str(spec.version), LABEL_MODEL_VERSION: name},
    )


def selector(name: str) -> dict[str, str]:
    return {LABEL_MODEL_VERSION: name}


def server_env(spec: ModelVersionSpec, stores: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """What the model server reads at start: which artifact, its hash, how to load it, and the
    operator's ``stores`` (where to log predictions, the S3 endpoint); the spec's own variables win."""
    values = {
        "MLPY_MODEL_NAME": spec.model,
        "MLPY_MODEL_VERSION": str(spec.version),
        "MLPY_MODEL_URI": spec.uri,
        "MLPY_MODEL_SHA256": spec.sha256,
        "MLPY_MODEL_FORMAT": spec.format,
        "MLPY_HOME": "/tmp/mlpy",
    }
    if spec.trust_pickle:
        values["MLPY_MODEL_TRUST_PICKLE"] = "true"
    if spec.compiled:
        values["MLPY_COMPILED"] = "true"
    if spec.batching_max_rows is not None:
        values["MLPY_BATCHING_MAX_ROWS"] = str(spec.batching_max_rows)
    if spec.batching_max_wait_ms is not None:
        values["MLPY_BATCHING_MAX_WAIT_MS"] = f"{spec.batching_max_wait_ms:g}"
    if spec.sensitive_features:
        values["MLPY_MODEL_SENSITIVE_FEATURES"] = ",".join(spec.sensitive_features)
    values.update(stores or {})
    return merge_env(env_list(values), spec.env)


def deployment(
    name: str, namespace: str, spec: ModelVersionSpec, defaults: PodDefaults | None = None
) -> dict[str, Any]:
    defaults = defaults or PodDefaults()
    labels = version_labels(name, spec)
    probe = {"port": "http"}
    args = ["serve", "--host", "0.0.0.0", "--port", str(SERVER_PORT)]
    ports = [{"name": "http", "containerPort": SERVER_PORT, "protocol": "TCP"}]
    if spec.grpc:
        args += ["--grpc-port", str(GRPC_PORT)]
        ports.append({"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"})
    container: dict[str, Any] = {
        "name": "server",
        "image": spec.image or defaults.image,
        "args": args,
        "env": server_env(spec, defaults.env),
        "ports": ports,
        "readinessProbe": {
            "httpGet": {"path": "/readyz", **probe},
            "periodSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", **probe},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "startupProbe": {
            "httpGet": {"path": "/healthz", **probe},
            "periodSeconds": 2,
            "failureThreshold": 60,
        },
        # Stopping waits until kube-proxy has taken the pod out of its Services: no request meets
        # a closed port during a rollout or a promotion.
        "lifecycle": DRAIN,
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    container = defaults.container(container, spec.resources)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, namespace, labels),
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": place(
                {
                    # The hash in the template rolls the pods whenever the artifact changes.
                    "metadata": {"labels": dict(labels), "annotations": {ARTIFACT_ANNOTATION: spec.sha256}},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(),
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    },
                },
                spec.pod,
                defaults.image_pull_secrets,
            ),
        },
    }


HTTP_SERVICE_PORT = {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
GRPC_SERVICE_PORT = {"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc", "protocol": "TCP"}


def service(name: str, namespace: str, spec: ModelVersionSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, namespace, version_labels(name, spec)),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(name),
            "ports": [dict(HTTP_SERVICE_PORT), *([dict(GRPC_SERVICE_PORT)] if spec.grpc else [])],
        },
    }


def stable_service(
    model: str, namespace: str, production_version: str | None, routed_by: str | None = None
) -> dict[str, Any]:
    """One Service per model: it follows the production version, or an experiment's router while one runs.

    Promotion moves a selector, never pods. Its gRPC port answers when the pods it selects serve gRPC
    (a production version with spec.serving.grpc); the router forwards HTTP only.
    """
    labels = base_labels("model-endpoint", {LABEL_MODEL: model})
    annotations = {"mlpy.io/production": production_version or ""}
    if routed_by:
        annotations["mlpy.io/routed-by"] = routed_by
    target = {LABEL_EXPERIMENT: routed_by} if routed_by else selector(production_version or "")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {**metadata(model, namespace, labels), "annotations": annotations},
        "spec": {
            "type": "ClusterIP",
            "selector": target,
            "ports": [dict(HTTP_SERVICE_PORT), dict(GRPC_SERVICE_PORT)],
        },
    }


def stable_service_between_productions(
    model: str, namespace: str, selector_: dict[str, str]
) -> dict[str, Any]:
    """No version is production and no experiment routes: the Service keeps its last target (so its
    ClusterIP and its clients stay), and says so."""
    last = selector_.get(LABEL_MODEL_VERSION) or selector_.get(LABEL_EXPERIMENT) or "nothing"
    service = stable_service(model, namespace, None)
    service["spec"]["selector"] = dict(selector_)
    service["metadata"]["annotations"] = {
        "mlpy.io/production": "",
        "mlpy.io/note": f"no version of {model} is production: still serving {last}",
    }
    return service


def endpoint(name: str, namespace: str) -> str:
    return f"http://{name}.{namespace}.svc.cluster.local"
