"""The operator's Events as the API server receives them: stamped with the time, or `kubectl get
events` shows them with no age and sorts them anywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client as k8s

from mlpy_operator import kube as kube_module
from mlpy_operator.kube import Kube


class EventsApi:
    """Stands in for CoreV1Api: keeps what would be POSTed, as JSON."""

    sent: list[tuple[str, dict[str, Any]]] = []

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.api_client = api_client

    def create_namespaced_event(self, namespace: str, body: k8s.CoreV1Event) -> None:
        self.sent.append((namespace, self.api_client.sanitize_for_serialization(body)))


def test_an_event_carries_its_first_and_last_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    EventsApi.sent = []
    monkeypatch.setattr(kube_module.k8s, "CoreV1Api", EventsApi)
    involved = {"kind": "DriftMonitor", "metadata": {"name": "m", "namespace": "ns", "uid": "u-1"}}
    before = datetime.now(UTC)
    Kube(k8s.ApiClient()).event(involved, "DriftDetected", "drift share 1.00: income", warning=True)
    ((namespace, sent),) = EventsApi.sent
    assert namespace == "ns"
    assert (sent["type"], sent["reason"], sent["involvedObject"]["uid"]) == (
        "Warning",
        "DriftDetected",
        "u-1",
    )
    stamps = [datetime.fromisoformat(sent[key]) for key in ("firstTimestamp", "lastTimestamp")]
    for stamp in stamps:
        assert stamp.tzinfo is not None
        assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)
    assert sent["reportingComponent"] == sent["source"]["component"] == "mlpy-operator"
