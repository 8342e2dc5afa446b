"""The training run's Job from the pure builder, against reviewed YAML, and what its objects' status
says about a run that cannot finish (pod and Job status as the API server returns them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.builders.training import TrainingJobSpec, training_job, training_resources
from mlpy_operator.training_status import image_digest, job_failure, not_started, pod_failure

EXPECTED = Path(__file__).parent / "expected"
RUN = "5f0c6a3e9b2d4c1a8e7f6d5c4b3a2910"
#: What ``mlpy train run --backend kubernetes`` gives the pod: the stores it uses, the stores Secret.
STORES = PodDefaults(
    image="registry.example/credit-training:1.4.0",
    env={
        "MLPY_STORE": "postgresql://mlpy@db.example:5432/mlpy",
        "MLPY_ARTIFACTS": "s3://mlpy/models",
        "MLPY_S3_ENDPOINT_URL": "http://minio.example:9000",
    },
    secret="mlpy-stores",
)


def test_training_jobs_match_the_reviewed_yaml() -> None:
    own_image = training_job(
        TrainingJobSpec(RUN, "models", "credit", service_account="mlpy-training"), STORES
    )
    server_plus_package = training_job(
        TrainingJobSpec(
            RUN,
            "models",
            "credit",
            service_account="mlpy-training",
            packages=("credit-training==1.4.0",),
            deadline_s=1800,
            ttl_s=3600,
            resources=training_resources("4", "8Gi"),
        ),
        PodDefaults("ghcr.io/mlpy/mlpy-server:0.1.0", dict(STORES.env), "mlpy-stores", {}, ("regcred",)),
    )
    expected = list(yaml.safe_load_all((EXPECTED / "training.yaml").read_text()))
    assert [own_image, server_plus_package] == expected


def test_a_failed_training_is_recorded_not_retried_and_runs_hardened() -> None:
    job = training_job(TrainingJobSpec(RUN, "models", "credit"), STORES)
    pod = job["spec"]["template"]["spec"]
    assert job["spec"]["backoffLimit"] == 0
    assert pod["restartPolicy"] == "Never"
    assert "serviceAccountName" not in pod  # the namespace's default, when none is given
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["command"][-2:] == ["--run-id", RUN]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["MLPY_TRAINING_IMAGE"] == STORES.image


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    return {
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {"name": "train", "state": {"waiting": {"reason": reason, "message": message}}}
            ],
        }
    }


def test_a_pod_that_cannot_start_says_why() -> None:
    pulled = waiting("ErrImagePull", 'failed to pull "nope:1": not found')
    assert pod_failure(pulled) == 'container train: ErrImagePull: failed to pull "nope:1": not found'
    assert pod_failure(waiting("ContainerCreating")) is None
    unscheduled = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/1 nodes are available: 1 Insufficient memory.",
                }
            ],
        }
    }
    assert pod_failure(unscheduled) is None  # a node may yet come: only a deadline ends the wait
    assert not_started(unscheduled) == (
        "pod not scheduled: Unschedulable: 0/1 nodes are available: 1 Insufficient memory."
    )
    assert not_started(None) == "no pod was created"
    assert not_started(waiting("ContainerCreating")) == "container train waiting: ContainerCreating"


@pytest.mark.parametrize(
    ("terminated", "expected"),
    [
        ({"reason": "OOMKilled", "exitCode": 137}, "container train: OOMKilled (exit code 137)"),
        ({"exitCode": 1, "message": "boom"}, "container train: Error (exit code 1): boom"),
    ],
)
def test_a_pod_that_died_says_how(terminated: dict[str, Any], expected: str) -> None:
    pod = {
        "status": {
            "phase": "Failed",
            "containerStatuses": [{"name": "train", "state": {"terminated": terminated}}],
        }
    }
    assert pod_failure(pod) == expected
    assert pod_failure({"status": {"phase": "Succeeded"}}) is None
    evicted = {"status": {"phase": "Failed", "reason": "Evicted", "message": "low on ephemeral storage"}}
    assert pod_failure(evicted) == "Evicted: low on ephemeral storage"


def test_job_failure_and_the_image_digest() -> None:
    deadline = {
        "status": {
            "conditions": [
                {"type": "Complete", "status": "False"},
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DeadlineExceeded",
                    "message": "Job was active longer",
                },
            ]
        }
    }
    assert job_failure(deadline) == "DeadlineExceeded: Job was active longer"
    assert job_failure({"status": {"active": 1}}) is None
    digest = "registry.example/credit-training@sha256:" + "ab" * 32
    pod = {
        "status": {
            "containerStatuses": [
                {"name": "install", "imageID": "other"},
                {"name": "train", "imageID": digest},
            ]
        }
    }
    assert image_digest(pod, "train") == digest
    assert (
        image_digest({"status": {"containerStatuses": [{"name": "train", "imageID": ""}]}}, "train") is None
    )
