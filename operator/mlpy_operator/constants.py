"""Names shared by the operator, its CRDs and the objects it creates."""

from __future__ import annotations

GROUP = "mlpy.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# Handler progress and the operator's bookkeeping live under this prefix (not kopf's kopf.zalando.org).
ANNOTATION_PREFIX = "mlpy.io"
FIELD_MANAGER = "mlpy-operator"

LABEL_MODEL = "mlpy.io/model"
LABEL_VERSION = "mlpy.io/version"
LABEL_MODEL_VERSION = "mlpy.io/modelversion"
LABEL_EXPERIMENT = "mlpy.io/experiment"
LABEL_DRIFT_MONITOR = "mlpy.io/driftmonitor"
LABEL_COMPONENT = "app.kubernetes.io/component"
#: On a serving pod's template: the hash of the artifact it serves (a new artifact rolls the pods).
ARTIFACT_ANNOTATION = "mlpy.io/artifact-sha256"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PART_OF = "app.kubernetes.io/part-of"

SERVER_PORT = 8000
# The Open Inference Protocol over gRPC, when spec.serving.grpc is on (Triton's port).
GRPC_PORT = 8001
DEFAULT_SERVER_IMAGE = "ghcr.io/mlpy/mlpy-server:0.1.0"
RUN_AS_USER = 10001
#: On a training Job and its pod: the training run (``mlpy train status ID``) it runs.
LABEL_TRAINING_RUN = "mlpy.io/training-run"
