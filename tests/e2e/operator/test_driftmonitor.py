"""A DriftMonitor on the real API server: its CronJob, and the job's command run as a local process."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlpy.predlog.tables import PredictionLogRow
from mlpy.store import open_store

pytestmark = pytest.mark.e2e

GROUP, VERSION = "mlpy.io", "v1alpha1"


def monitor(reference: Path) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DriftMonitor",
        "metadata": {"name": "credit-drift"},
        "spec": {
            "model": "credit",
            "reference": {"uri": str(reference)},
            "schedule": "*/5 * * * *",
            "window": "1h",
            "driftShare": 0.5,
        },
    }


def log_predictions(store_url: str, rows: pd.DataFrame, model: str = "credit") -> None:
    now = datetime.now(UTC)
    with open_store(store_url).session() as session:
        for start in range(0, len(rows), 50):
            batch = rows.iloc[start : start + 50]
            session.add(
                PredictionLogRow(
                    request_id=uuid.uuid4().hex,
                    model=model,
                    version="1",
                    variant=None,
                    ts=now - timedelta(minutes=5),
                    n_rows=len(batch),
                    features=batch.to_dict(orient="records"),
                    predictions=[0] * len(batch),
                    outcome=None,
                    outcome_at=None,
                )
            )


def resolved_env(container: Any, namespace: str) -> dict[str, str]:
    """The container's environment as the kubelet would give it (the downward API included)."""
    env = {}
    for item in container.env:
        if item.value_from is not None:
            assert item.value_from.field_ref.field_path == "metadata.namespace"
            env[item.name] = namespace
        else:
            env[item.name] = item.value
    return env


def test_drift_job_writes_its_verdict_to_status(
    operator: None,
    wait: Any,
    custom: Any,
    k8s_api: Any,
    k8s_namespace: str,
    predlog_url: str,
    tmp_path: Path,
    as_service_account: Callable[[str, str], Path],
) -> None:
    from kubernetes import client

    ns = k8s_namespace
    rng = np.random.default_rng(0)
    reference = tmp_path / "reference.csv"
    pd.DataFrame({"income": rng.normal(50, 5, 3000), "region": rng.choice(["a", "b", "c"], 3000)}).to_csv(
        reference, index=False
    )
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "driftmonitors", monitor(reference))

    batch = client.BatchV1Api(k8s_api)
    cron = wait("the CronJob", lambda: batch.read_namespaced_cron_job("credit-drift-drift", ns))
    assert cron.spec.schedule == "*/5 * * * *"
    pod = cron.spec.job_template.spec.template.spec
    assert pod.service_account_name == "credit-drift-drift"

    def scheduled() -> bool:
        status = custom.get_namespaced_custom_object(GROUP, VERSION, ns, "driftmonitors", "credit-drift").get(
            "status"
        )
        return any(
            c["type"] == "Scheduled" and c["status"] == "True" for c in (status or {}).get("conditions", [])
        )

    wait("a Scheduled condition", scheduled)

    # The serving pods' prediction log: incomes have shifted up, regions have not.
    log_predictions(
        predlog_url,
        pd.DataFrame({"income": rng.normal(58, 5, 600), "region": rng.choice(["a", "b", "c"], 600)}),
    )
    container = pod.containers[0]
    env = resolved_env(container, ns)
    assert env["MLPY_STORE"] == predlog_url
    kubeconfig = as_service_account(ns, pod.service_account_name)
    done = subprocess.run(
        [
            sys.executable if container.command[0] == "python" else container.command[0],
            *container.command[1:],
        ],
        env={**os.environ, **env, "KUBECONFIG": str(kubeconfig), "MLPY_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    status = custom.get_namespaced_custom_object(GROUP, VERSION, ns, "driftmonitors", "credit-drift")[
        "status"
    ]
    assert status["datasetDrift"] is True
    assert status["driftedColumns"] == ["income"]
    assert status["driftShare"] == 0.5
    assert len(status["history"]) == 1
    drift = next(c for c in status["conditions"] if c["type"] == "DriftDetected")
    assert drift["status"] == "True"
    assert "income" in drift["message"]
    events = client.CoreV1Api(k8s_api).list_namespaced_event(
        ns, field_selector="involvedObject.name=credit-drift"
    )
    assert any(e.reason == "DriftDetected" and e.type == "Warning" for e in events.items)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule": "every day"}, "spec.schedule: Invalid value"),
        # Each cron field by its range, said as a sentence (the CronJob API would refuse it later).
        ({"schedule": "61 * * * *"}, "must be a cron schedule of 5 fields, each in range (minute 0-59"),
        ({"schedule": "0 24 * * *"}, "hour 0-23"),
        ({"driftShare": 1.5}, "spec.driftShare"),
        ({"driftShare": 0}, "must be above 0"),
        ({"window": "0h"}, "must be a duration above 0"),
        ({"methods": {"income": "magic"}}, "spec.methods"),
        ({"modelVersion": "credit-v1"}, "exactly one of model or modelVersion"),
    ],
)
def test_invalid_monitors_are_rejected(
    crds: None, custom: Any, k8s_namespace: str, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    from kubernetes.client.exceptions import ApiException

    body = monitor(tmp_path / "ref.csv")
    body["spec"].update(change)
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, k8s_namespace, "driftmonitors", body)
    assert caught.value.status == 422
    assert message in caught.value.body
