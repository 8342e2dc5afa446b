"""The Kubernetes Job of one training run (``mlpy train run --backend kubernetes``).

The command line creates it, as ``kubectl create job`` would: a run is one-shot, with no desired
state for the operator to keep, and its record is the run row in the metadata store, which the pod
updates. The pod runs ``mlpy train execute --run-id ID``: the spec is read from that row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlpy_operator.builders.common import (
    PodDefaults,
    base_labels,
    container_security_context,
    env_list,
    metadata,
    pod_security_context,
)
from mlpy_operator.constants import LABEL_MANAGED_BY, LABEL_MODEL, LABEL_TRAINING_RUN

TRAINING_CONTAINER = "train"
#: Where ``--package`` installs the user's code (an init container fills it; the job imports from it).
PACKAGES_DIR = "/opt/mlpy-train/packages"
MANAGED_BY = "mlpy-train"
#: A training's memory is its data and model: requested and capped at the same size (no OOM surprise
#: from a busy node), CPU requested and not capped (a fit uses what the node has spare).
DEFAULT_RESOURCES: dict[str, Any] = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}


def training_resources(cpu: str | None = None, memory: str | None = None) -> dict[str, Any]:
    """The container's resources: ``cpu`` requested, ``memory`` requested and the limit."""
    cpu = cpu or DEFAULT_RESOURCES["requests"]["cpu"]
    memory = memory or DEFAULT_RESOURCES["requests"]["memory"]
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}


@dataclass(frozen=True)
class TrainingJobSpec:
    """One run's Job. ``defaults`` (below) give the image, the stores and the stores Secret."""

    run_id: str
    namespace: str
    model: str
    service_account: str | None = None
    #: pip requirements installed before the job (the server image plus the user's package).
    packages: tuple[str, ...] = ()
    #: A training that runs longer is stopped and recorded as failed.
    deadline_s: int = 6 * 3600
    #: The finished Job (and its pod's log) is kept this long, then removed by the cluster.
    ttl_s: int = 7 * 86400
    resources: dict[str, Any] = field(default_factory=training_resources)


def training_job_name(run_id: str) -> str:
    return f"train-{run_id}"


def labels(run_id: str) -> dict[str, str]:
    return base_labels("training", {LABEL_TRAINING_RUN: run_id, LABEL_MANAGED_BY: MANAGED_BY})


def training_job(spec: TrainingJobSpec, defaults: PodDefaults) -> dict[str, Any]:
    """The Job: one pod, never restarted or retried (a failed training is recorded, not run again
    blindly), stopped after ``deadline_s``; it reads its own pod for the image digest."""
    env = env_list({"MLPY_TRAINING_IMAGE": defaults.image, "MLPY_HOME": "/tmp/mlpy", **defaults.env})
    env += [
        {"name": "MLPY_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "MLPY_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    init: list[dict[str, Any]] = []
    if spec.packages:
        env.append({"name": "PYTHONPATH", "value": PACKAGES_DIR})
        mounts.append({"name": "packages", "mountPath": PACKAGES_DIR})
        volumes.append({"name": "packages", "emptyDir": {}})
        init.append(_installer(spec.packages, defaults))
    container = {
        "name": TRAINING_CONTAINER,
        "image": defaults.image,
        "command": ["mlpy", "train", "execute", "--run-id", spec.run_id],
        "env": env,
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": pod_security_context(),
        "containers": [defaults.container(container, spec.resources)],
        "volumes": volumes,
    }
    if init:
        pod_spec["initContainers"] = init
    if spec.service_account:
        pod_spec["serviceAccountName"] = spec.service_account
    pod_spec.update(defaults.pull_secrets())
    pod_labels = labels(spec.run_id)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            **metadata(training_job_name(spec.run_id), spec.namespace, pod_labels),
            "annotations": {LABEL_MODEL: spec.model},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": spec.deadline_s,
            "ttlSecondsAfterFinished": spec.ttl_s,
            "template": {"metadata": {"labels": dict(pod_labels)}, "spec": pod_spec},
        },
    }


def _installer(packages: tuple[str, ...], defaults: PodDefaults) -> dict[str, Any]:
    """pip installs the user's package into a volume the training container imports from; the
    Secret's variables reach it too (PIP_INDEX_URL with a private index's credentials). Without its
    dependencies: ``--target`` would install a second copy of every one the image already has (its
    scikit-learn, pandas, ...); code that needs more than the server image holds gets an image of its
    own, built FROM it."""
    return defaults.container(
        {
            "name": "install",
            "image": defaults.image,
            "command": [
                "python",
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--no-deps",
                "--target",
                PACKAGES_DIR,
                *packages,
            ],
            "env": env_list({"HOME": "/tmp"}),
            "securityContext": container_security_context(),
            "volumeMounts": [
                {"name": "tmp", "mountPath": "/tmp"},
                {"name": "packages", "mountPath": PACKAGES_DIR},
            ],
        }
    )
