"""Thin access to the API server: server-side apply of children, reads, and status patches."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from mlpy_operator.constants import API_VERSION, FIELD_MANAGER


class Kube:
    """One API client for the operator's handlers (thread-safe: kopf runs sync handlers in threads)."""

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.api_client = api_client
        self._dynamic: DynamicClient | None = None
        self._lock = threading.Lock()

    @property
    def dynamic(self) -> DynamicClient:
        with self._lock:
            if self._dynamic is None:
                self._dynamic = DynamicClient(self.api_client)  # type: ignore[no-untyped-call]
            return self._dynamic

    def _resource(self, api_version: str, kind: str) -> Any:
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply: idempotent; fields other managers own (an HPA's replicas) are left alone."""
        meta = obj["metadata"]
        result = self._resource(obj["apiVersion"], obj["kind"]).server_side_apply(
            body=obj,
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )
        return dict(result.to_dict())

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        try:
            return dict(self._resource(api_version, kind).get(name=name, namespace=namespace).to_dict())
        except NotFoundError:
            return None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        found = self._resource(api_version, kind).get(
            namespace=namespace, label_selector=label_selector, field_selector=field_selector
        )
        return [dict(item.to_dict()) for item in found.items]

    def patch_status(self, kind: str, name: str, namespace: str, status: dict[str, Any]) -> None:
        """Merge-patch a custom resource's status subresource; a vanished object is not an error."""
        resource = self._resource(API_VERSION, kind)
        try:
            resource.status.patch(
                name=name,
                namespace=namespace,
                body={"status": status},
                content_type="application/merge-patch+json",
            )
        except (NotFoundError, ApiException) as exc:
            if getattr(exc, "status", None) != 404:
                raise

    def patch_spec(self, kind: str, name: str, namespace: str, spec: dict[str, Any]) -> None:
        self._resource(API_VERSION, kind).patch(
            name=name, namespace=namespace, body={"spec": spec}, content_type="application/merge-patch+json"
        )

    def event(self, involved: dict[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
        """An Event on ``involved``, stamped with the time (``kubectl get events`` sorts and ages by it)."""
        meta = involved["metadata"]
        core = k8s.CoreV1Api(self.api_client)
        now = datetime.now(UTC)
        core.create_namespaced_event(
            meta["namespace"],
            k8s.CoreV1Event(
                metadata=k8s.V1ObjectMeta(generate_name=f"{meta['name']}."),
                involved_object=k8s.V1ObjectReference(
                    api_version=involved.get("apiVersion", API_VERSION),
                    kind=involved["kind"],
                    name=meta["name"],
                    namespace=meta["namespace"],
                    uid=meta.get("uid"),
                ),
                reason=reason,
                message=message,
                type="Warning" if warning else "Normal",
                source=k8s.V1EventSource(component=FIELD_MANAGER),
                first_timestamp=now,
                last_timestamp=now,
                reporting_component=FIELD_MANAGER,
                reporting_instance=FIELD_MANAGER,
                count=1,
            ),
        )
