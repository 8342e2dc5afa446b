"""From `kubectl apply` of a ModelVersion to its first prediction, on a real node, against the anchor.

One run on a local cluster with a real node and its stores (localk8s): the chart installed with the
stores in its values, one model registered (PostgreSQL metadata, artifact in S3). Each round applies a
new ModelVersion with ``stage: production`` and times until a prediction answers through the model's
stable Service. The anchor is what kube-controller-manager does alone with the same pod: a Deployment
and a Service of the server image with the artifact in its environment, applied directly, timed until
the same prediction answers. The difference is the operator's share (its reconcile, the stable Service).

    python bench/k8s_first_prediction.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import localk8s

REPO = Path(__file__).resolve().parents[1]
ROW = {"features": {"age": 41, "income": 52000, "debt_ratio": 0.3, "credit_lines": 4, "late_payments": 0}}


def kubectl(cluster: localk8s.LocalCluster, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(cluster.binaries["kubectl"]), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)}: {done.stderr}")
    return done.stdout


def first_prediction(cluster: localk8s.LocalCluster, service: str, started: float) -> float:
    """Seconds from ``started`` until ``service`` answers a prediction (polled every 50 ms)."""
    body = json.dumps(ROW).encode()
    deadline = time.monotonic() + 300
    ip = ""
    while time.monotonic() < deadline:
        if not ip:
            ip = kubectl_quiet(
                cluster, "get", "svc", service, "-n", "bench", "-o", "jsonpath={.spec.clusterIP}"
            )
        if ip:
            request = urllib.request.Request(
                f"http://{ip}/predict", body, {"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.05)
    raise SystemExit(f"{service} never answered a prediction")


def kubectl_quiet(cluster: localk8s.LocalCluster, *args: str) -> str:
    done = subprocess.run(
        [str(cluster.binaries["kubectl"]), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def model_version(name: str, model: str, uri: str, sha256: str) -> dict[str, Any]:
    return {
        "apiVersion": "mlpy.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {
            "model": model,
            "version": 1,
            "stage": "production",
            "artifact": {"uri": uri, "sha256": sha256},
        },
    }


def anchor(name: str, uri: str, sha256: str, env: dict[str, str]) -> list[dict[str, Any]]:
    """The same server pod and a Service, as a user would write them without the operator."""
    labels = {"app": name}
    container_env = [
        {"name": "MLPY_MODEL_URI", "value": uri},
        {"name": "MLPY_MODEL_SHA256", "value": sha256},
        {"name": "MLPY_MODEL_NAME", "value": name},
        {"name": "MLPY_S3_ENDPOINT_URL", "value": env["MLPY_S3_ENDPOINT_URL"]},
        {"name": "MLPY_HOME", "value": "/tmp/mlpy"},
    ]
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "bench"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "server",
                                "image": next(iter(localk8s.product_images())),
                                "args": ["serve", "--host", "0.0.0.0", "--port", "8000"],
                                "env": container_env,
                                "envFrom": [{"secretRef": {"name": "mlpy-stores"}}],
                                # The probes the operator's serving pods have: only the operator differs.
                                "readinessProbe": {
                                    "httpGet": {"path": "/readyz", "port": 8000},
                                    "periodSeconds": 5,
                                },
                                "startupProbe": {
                                    "httpGet": {"path": "/healthz", "port": 8000},
                                    "periodSeconds": 2,
                                    "failureThreshold": 60,
                                },
                            }
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "bench"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8000}]},
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlpy-bench-node-") as state:
        cluster = localk8s.start_for_session(Path(state) / "cluster", node="require", stores=True)
        try:
            env = dict(
                line.removeprefix("export ").split("=", 1)
                for line in (cluster.state_dir / "stores.env").read_text().splitlines()
            )
            env = {k: v.strip("'") for k, v in env.items()}
            os.environ.update(env)
            for namespace in ("mlpy-system", "bench"):
                kubectl(cluster, "create", "namespace", namespace)
                kubectl(
                    cluster,
                    "create",
                    "secret",
                    "generic",
                    "mlpy-stores",
                    "-n",
                    namespace,
                    f"--from-literal=PGPASSWORD={env['PGPASSWORD']}",
                    f"--from-literal=AWS_ACCESS_KEY_ID={env['AWS_ACCESS_KEY_ID']}",
                    f"--from-literal=AWS_SECRET_ACCESS_KEY={env['AWS_SECRET_ACCESS_KEY']}",
                )
            subprocess.run(
                [
                    str(cluster.binaries["helm"]),
                    "install",
                    "mlpy",
                    str(REPO / "helm" / "mlpy"),
                    "-n",
                    "mlpy-system",
                    "--wait",
                    "--timeout",
                    "5m",
                    "--set",
                    f"stores.metadata={env['MLPY_STORE']}",
                    "--set",
                    f"stores.experimentStats={env['MLPY_EXPERIMENT_STATS']}",
                    "--set",
                    f"stores.s3EndpointUrl={env['MLPY_S3_ENDPOINT_URL']}",
                    "--set",
                    "stores.secretName=mlpy-stores",
                ],
                env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
                check=True,
                capture_output=True,
            )
            from sklearn.linear_model import LogisticRegression

            from mlpy.demo.data import NUMERIC, TARGET, credit_data
            from mlpy.registry import ModelRegistry

            data = credit_data(5_000)
            registry = ModelRegistry(env["MLPY_STORE"], env["MLPY_ARTIFACTS"])
            version = registry.register(
                "credit", LogisticRegression(max_iter=500).fit(data[NUMERIC], data[TARGET])
            )
            ours, theirs = [], []
            for i in range(args.rounds):
                started = time.perf_counter()
                kubectl(
                    cluster,
                    "apply",
                    "-f",
                    "-",
                    stdin=json.dumps(
                        model_version(f"m{i}-v1", f"m{i}", version.artifact_uri, version.sha256)
                    ),
                )
                ours.append(first_prediction(cluster, f"m{i}", started))
                started = time.perf_counter()
                kubectl(
                    cluster,
                    "apply",
                    "-f",
                    "-",
                    stdin=json.dumps(
                        {
                            "apiVersion": "v1",
                            "kind": "List",
                            "items": anchor(f"a{i}", version.artifact_uri, version.sha256, env),
                        }
                    ),
                )
                theirs.append(first_prediction(cluster, f"a{i}", started))
                print(f"round {i + 1}: operator {ours[-1]:.2f} s, anchor {theirs[-1]:.2f} s", flush=True)
        finally:
            cluster.stop()
    o50, a50 = statistics.median(ours), statistics.median(theirs)
    print(f"\napply -> first prediction through the Service, p50 of {args.rounds} on a real node:")
    print(f"  mlpy ModelVersion (operator, stable Service) {o50:.2f} s")
    print(f"  anchor: Deployment + Service (kube-controller-manager alone) {a50:.2f} s")
    print(f"  ratio {o50 / a50:.2f}x; the operator's share {o50 - a50:+.2f} s")


if __name__ == "__main__":
    main()
