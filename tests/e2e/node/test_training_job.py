"""A training run as a Kubernetes Job on the real node, with a team's own image and data: Parquet in the
node's S3, the Job's pod trains with the fixture package (tests/fixtures/trainpkg, built FROM the
server image here), registers into PostgreSQL and S3 with its lineage (image and digest included), the
promotion gate refuses a worse model and promotes a better one; the result's manifest is applied, and
its ModelVersion turns Ready and answers a prediction through its Service. A Job whose image does not
exist is recorded as a failed run with the pod's reason.

The commands run as a user runs them (``mlpy``, ``kubectl``, ``helm``) against the module's own
cluster (one real node per machine) with the chart installed for one namespace.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import localk8s
from mlpy.demo.data import NUMERIC, credit_data
from tests.e2e.conftest import wait_for
from tests.e2e.node.conftest import NodeCluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "trainpkg"
SERVER_IMAGE = next(iter(localk8s.product_images()))
TRAINING_IMAGE = "registry.example/credit-training:1.4.0"
MLPY = str(Path(sys.executable).with_name("mlpy"))


def stores_env(node: NodeCluster) -> dict[str, str]:
    """``stores.env`` beside the kubeconfig, as the walkthrough sources it."""
    env: dict[str, str] = {}
    for line in (node.kubeconfig.parent / "stores.env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


@pytest.fixture(scope="module")
def training_namespace(node_with_stores: NodeCluster) -> Iterator[tuple[str, dict[str, str]]]:
    """A namespace with the stores Secret and the chart installed for it (the operator, and the
    ServiceAccount training pods run as); the command line's environment for it."""
    node = node_with_stores
    image = localk8s.build_derived(TRAINING_IMAGE, FIXTURE / "Dockerfile", FIXTURE, SERVER_IMAGE)
    localk8s.import_into(node.cluster.containerd, image)
    stores = stores_env(node)
    env = {**os.environ, **stores, "KUBECONFIG": str(node.kubeconfig)}
    namespace = f"train-{uuid.uuid4().hex[:6]}"
    node.kubectl("create", "namespace", namespace)
    secret = {k: stores[k] for k in ("PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    node.kubectl(
        "create", "secret", "generic", "mlpy-stores", "-n", namespace,
        *(f"--from-literal={k}={v}" for k, v in {**secret, "AWS_DEFAULT_REGION": "us-east-1"}.items()),
    )  # fmt: skip
    helm = node.cluster.binaries.get("helm")
    if helm is None:
        pytest.fail("helm is built by scripts/k8s/build.sh with the rest")
    done = subprocess.run(
        [
            str(helm), "install", "mlpy", str(FIXTURE.parents[2] / "helm" / "mlpy"), "-n", namespace,
            "--wait", "--timeout=240s",
            "--set", f"operator.watchNamespaces={{{namespace}}}",
            "--set", f"stores.metadata={stores['MLPY_STORE']}",
            "--set", f"stores.s3EndpointUrl={stores['MLPY_S3_ENDPOINT_URL']}",
            "--set", "stores.secretName=mlpy-stores",
        ],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stderr}{done.stdout}"
    try:
        yield namespace, env
    finally:
        node.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def upload_data(env: dict[str, str]) -> dict[str, str]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=env["MLPY_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    bucket = env["MLPY_ARTIFACTS"].removeprefix("s3://").split("/", 1)[0]
    uris = {}
    for name, seed in (("train", 1), ("holdout", 2)):
        buffer = io.BytesIO()
        credit_data(1_500, seed=seed).to_parquet(buffer)
        client.put_object(Bucket=bucket, Key=f"training/{name}.parquet", Body=buffer.getvalue())
        uris[name] = f"s3://{bucket}/training/{name}.parquet"
    return uris


def mlpy(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([MLPY, *args], capture_output=True, text=True, env=env, timeout=900, check=False)
    if check:
        assert done.returncode == 0, f"mlpy {' '.join(args)}: {done.stderr}{done.stdout}"
    return done


def train(env: dict[str, str], namespace: str, spec: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return mlpy(
        env, "train", "run", str(spec), "--backend", "kubernetes", "-n", namespace,
        "--stores-secret", "mlpy-stores", "--cpu", "200m", "--memory", "1Gi", "--timeout", "600",
        "-o", "json", *extra, check=False,
    )  # fmt: skip


@pytest.mark.timeout(1500)  # builds the training image, installs the chart, trains three times, serves
def test_training_jobs_register_with_lineage_pass_the_gate_and_serve(
    node_with_stores: NodeCluster,
    training_namespace: tuple[str, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace, env = training_namespace
    data = upload_data(env)
    runs: list[dict[str, Any]] = []
    for features in ("age", "", "age"):  # worse (the empty gate opens), better, worse again
        spec = tmp_path / f"job-{len(runs)}.yaml"
        spec.write_text(
            yaml.safe_dump(
                {
                    "entryPoint": "credit_training.train:fit",
                    "data": data,
                    "params": {"C": 0.5, "features": features},
                    "model": "credit",
                    "promote": {"alias": "production", "metric": "auc", "atLeast": "current"},
                }
            )
        )
        done = train(env, namespace, spec, "--image", TRAINING_IMAGE)
        assert done.returncode == 0, f"{done.stderr}{done.stdout}"
        runs.append(json.loads(done.stdout))
    assert [(r["backend"], r["state"]) for r in runs] == [("kubernetes", "succeeded")] * 3
    assert [r["result"]["version"] for r in runs] == [1, 2, 3]
    assert [r["result"]["promoted"] for r in runs] == [True, True, False]
    assert "is not at least credit:2's" in runs[2]["result"]["gate"]["reason"]
    status = json.loads(mlpy(env, "train", "status", runs[1]["id"], "-o", "json").stdout)
    assert status["state"] == "succeeded"

    from mlpy.registry import ModelRegistry

    monkeypatch.setenv("PGPASSWORD", env["PGPASSWORD"])  # this process reads the registry too
    version = ModelRegistry(env["MLPY_STORE"], env["MLPY_ARTIFACTS"]).get_version("credit", 2)
    tags = version.tags
    print("lineage of credit:2:", json.dumps({k: v for k, v in tags.items() if k.startswith("mlpy.train")}))
    print("gates:", [r["result"]["gate"]["reason"] for r in runs])
    assert tags["mlpy.train.run"] == runs[1]["id"]
    assert tags["mlpy.train.entry_point"] == "credit_training.train:fit"
    assert tags["mlpy.train.data.train"] == data["train"]
    assert len(tags["mlpy.train.data.train.sha256"]) == 64
    assert tags["mlpy.train.code.package"].replace("_", "-") == "credit-training==1.4.0"
    assert tags["mlpy.train.code.image"] == TRAINING_IMAGE
    assert "sha256:" in tags["mlpy.train.code.image_digest"]
    pods = json.loads(
        node_with_stores.kubectl(
            "get", "pods", "-n", namespace, "-l", f"mlpy.io/training-run={runs[1]['id']}", "-o", "json"
        )
    )["items"]
    assert [p["status"]["containerStatuses"][0]["imageID"] for p in pods] == [
        tags["mlpy.train.code.image_digest"]
    ]
    assert version.parent == "credit:1"
    assert version.tags["drift_reference"].startswith(env["MLPY_ARTIFACTS"])

    manifest = mlpy(env, "registry", "manifest", "credit", "2", "-n", namespace).stdout
    node_with_stores.kubectl("apply", "-f", "-", stdin=manifest)
    name = yaml.safe_load(manifest)["metadata"]["name"]
    node_with_stores.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", f"mv/{name}", "--timeout=300s", timeout=320
    )
    cluster_ip = node_with_stores.kubectl(
        "get", "svc", "credit", "-n", namespace, "-o", "jsonpath={.spec.clusterIP}"
    ).strip()
    row = credit_data(1, seed=3)[NUMERIC].iloc[0].to_dict()

    def predicted() -> Any:
        request = urllib.request.Request(
            f"http://{cluster_ip}/predict", data=json.dumps({"features": row}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    answer = wait_for("a prediction through the Service credit", predicted, timeout=60)
    assert answer["version"] in (2, "2"), answer


@pytest.mark.timeout(600)
def test_a_job_whose_image_does_not_exist_is_a_failed_run_with_the_reason(
    node_with_stores: NodeCluster, training_namespace: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    namespace, env = training_namespace
    spec = tmp_path / "job.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "entryPoint": "credit_training.train:fit",
                "data": {"train": "s3://mlpy/training/train.parquet"},
                "model": "credit-missing-image",
            }
        )
    )
    done = train(env, namespace, spec, "--image", "registry.example/no-such-image:0")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("error: run ")
    shown = json.loads(done.stdout)
    print("recorded:", shown["error"])
    assert shown["state"] == "failed"
    assert "container train: " in shown["error"]
    assert any(reason in shown["error"] for reason in ("ErrImagePull", "ImagePullBackOff")), shown["error"]
    # Removed, so that it cannot start later under a run recorded failed.
    wait_for(
        "the Job to be deleted",
        lambda: (
            not node_with_stores.kubectl(
                "get", "job", f"train-{shown['id']}", "-n", namespace, "--ignore-not-found", "-o", "name"
            ).strip()
        ),
        timeout=60,
    )
