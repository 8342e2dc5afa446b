"""Children of a DriftMonitor: the CronJob that checks drift, and the narrow identity its pods use."""

from __future__ import annotations

import json
from typing import Any

from mlpy_operator.builders.common import (
    PodDefaults,
    base_labels,
    container_security_context,
    env_list,
    metadata,
    pod_security_context,
)
from mlpy_operator.constants import GROUP, LABEL_DRIFT_MONITOR

JOB_MODULE = "mlpy_operator.drift_job"


def job_name(monitor: str) -> str:
    return f"{monitor}-drift"


def labels(monitor: str) -> dict[str, str]:
    return base_labels("drift-check", {LABEL_DRIFT_MONITOR: monitor})


def job_settings(spec: dict[str, Any], model: str, version: str | None) -> dict[str, Any]:
    """What one check needs, resolved by the operator (a modelVersion becomes its model and version)."""
    return {
        "model": model,
        "version": version,
        "reference": spec["reference"]["uri"],
        "window": spec.get("window", "24h"),
        "methods": spec.get("methods") or {},
        "thresholds": spec.get("thresholds") or {},
        "driftShare": spec.get("driftShare", 0.5),
        "features": spec.get("features") or [],
    }


def cronjob(
    name: str,
    namespace: str,
    schedule: str,
    settings: dict[str, Any],
    *,
    defaults: PodDefaults,
    service_account: str | None = None,
) -> dict[str, Any]:
    """The scheduled check; ``defaults`` name the prediction log it reads (``MLPY_STORE``), S3 and the
    Pushgateway, and give its resources, credentials and image pull secrets."""
    env = env_list({"MLPY_DRIFT_MONITOR": name, "MLPY_DRIFT_SETTINGS": json.dumps(settings, sort_keys=True)})
    env.append({"name": "MLPY_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})
    env += env_list({"MLPY_HOME": "/tmp/mlpy", **defaults.env})
    pod_labels = labels(name)
    container = {
        "name": "drift",
        "image": defaults.image,
        "command": ["python", "-m", JOB_MODULE],
        "env": env,
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(job_name(name), namespace, labels(name)),
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": dict(pod_labels)},
                "spec": {
                    "backoffLimit": 1,
                    "activeDeadlineSeconds": 3600,
                    "template": {
                        "metadata": {"labels": dict(pod_labels)},
                        "spec": {
                            "restartPolicy": "Never",
                            "serviceAccountName": service_account or job_name(name),
                            **defaults.pull_secrets(),  # the chart's global.imagePullSecrets
                            "securityContext": pod_security_context(),
                            "containers": [defaults.container(container)],
                            "volumes": [{"name": "tmp", "emptyDir": {}}],
                        },
                    },
                },
            },
        },
    }


def service_account(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(job_name(name), namespace, labels(name)),
    }


def role(name: str, namespace: str) -> dict[str, Any]:
    """Just enough for the job: read its own DriftMonitor, write its status, report Events."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(job_name(name), namespace, labels(name)),
        "rules": [
            {"apiGroups": [GROUP], "resources": ["driftmonitors"], "resourceNames": [name], "verbs": ["get"]},
            {
                "apiGroups": [GROUP],
                "resources": ["driftmonitors/status"],
                "resourceNames": [name],
                "verbs": ["get", "patch"],
            },
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
        ],
    }


def role_binding(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(job_name(name), namespace, labels(name)),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": job_name(name)},
        "subjects": [{"kind": "ServiceAccount", "name": job_name(name), "namespace": namespace}],
    }
