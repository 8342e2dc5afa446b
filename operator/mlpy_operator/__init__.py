"""The mlpy Kubernetes operator: ModelVersion, Experiment and DriftMonitor reconciled by kopf.

The face other packages use: what ``mlpy train --backend kubernetes`` needs to build, start and follow a
training Job the way the operator builds its own pods. The names load on first use (mlpy.faces), so
importing it pulls in neither kopf nor the Kubernetes client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlpy import faces

if TYPE_CHECKING:
    from mlpy_operator.builders.common import PodDefaults
    from mlpy_operator.builders.training import (
        TRAINING_CONTAINER,
        TrainingJobSpec,
        training_job,
        training_job_name,
        training_resources,
    )
    from mlpy_operator.constants import DEFAULT_SERVER_IMAGE, LABEL_TRAINING_RUN
    from mlpy_operator.kube import Kube
    from mlpy_operator.runtime import kube_client
    from mlpy_operator.training_status import image_digest, job_failure, not_started, pod_failure

__all__ = [
    "DEFAULT_SERVER_IMAGE",
    "LABEL_TRAINING_RUN",
    "TRAINING_CONTAINER",
    "Kube",
    "PodDefaults",
    "TrainingJobSpec",
    "image_digest",
    "job_failure",
    "kube_client",
    "not_started",
    "pod_failure",
    "training_job",
    "training_job_name",
    "training_resources",
]

_HOMES = {
    "DEFAULT_SERVER_IMAGE": "mlpy_operator.constants",
    "LABEL_TRAINING_RUN": "mlpy_operator.constants",
    "TRAINING_CONTAINER": "mlpy_operator.builders.training",
    "Kube": "mlpy_operator.kube",
    "PodDefaults": "mlpy_operator.builders.common",
    "TrainingJobSpec": "mlpy_operator.builders.training",
    "image_digest": "mlpy_operator.training_status",
    "job_failure": "mlpy_operator.training_status",
    "kube_client": "mlpy_operator.runtime",
    "not_started": "mlpy_operator.training_status",
    "pod_failure": "mlpy_operator.training_status",
    "training_job": "mlpy_operator.builders.training",
    "training_job_name": "mlpy_operator.builders.training",
    "training_resources": "mlpy_operator.builders.training",
}


def __getattr__(name: str) -> Any:
    return faces.load(__name__, _HOMES, name)
