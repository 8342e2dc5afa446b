"""Pieces every child object shares: labels, owner-independent metadata, hardened pod settings."""

from __future__ import annotations

from typing import Any

from mlpy_operator.constants import LABEL_MANAGED_BY, LABEL_PART_OF, RUN_AS_USER


def base_labels(component: str, extra: dict[str, str]) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "mlpy",
        "app.kubernetes.io/component": component,
        LABEL_PART_OF: "mlpy",
        LABEL_MANAGED_BY: "mlpy-operator",
        **extra,
    }


def metadata(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels}


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def env_list(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": key, "value": value} for key, value in values.items()]


def merge_env(base: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The user's variables win over the operator's of the same name, and keep their order after them."""
    overridden = {item["name"] for item in extra}
    return [item for item in base if item["name"] not in overridden] + list(extra)
