"""Pieces every child object shares: labels, owner-independent metadata, hardened pod settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlpy_operator.constants import DEFAULT_SERVER_IMAGE, LABEL_MANAGED_BY, LABEL_PART_OF, RUN_AS_USER


@dataclass(frozen=True)
class PodDefaults:
    """What every pod of one kind gets from the operator's settings (the chart's values).

    ``env`` names the stores (where to log predictions, keep experiment statistics, find S3);
    ``secret`` is a Secret in the pod's namespace whose keys become variables (credentials), optional
    so that a namespace without it still runs; ``resources`` apply unless the resource's spec sets its own.
    """

    image: str = DEFAULT_SERVER_IMAGE
    env: dict[str, str] = field(default_factory=dict)
    secret: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    # The chart's global.imagePullSecrets: every pod the operator makes may pull from there.
    image_pull_secrets: tuple[str, ...] = ()

    def pull_secrets(self) -> dict[str, Any]:
        """The pod spec's ``imagePullSecrets`` for a pod with no spec of its own to add to them (training
        and drift jobs; serving and router pods merge them with their spec's in pod_options.place)."""
        if not self.image_pull_secrets:
            return {}
        return {"imagePullSecrets": [{"name": name} for name in self.image_pull_secrets]}

    def env_from(self) -> list[dict[str, Any]]:
        return [{"secretRef": {"name": self.secret, "optional": True}}] if self.secret else []

    def container(self, container: dict[str, Any], resources: dict[str, Any] | None = None) -> dict[str, Any]:
        """``container`` with the Secret's variables and the resources (the spec's, else these)."""
        chosen = resources or self.resources
        extra: dict[str, Any] = {}
        if self.secret:
            extra["envFrom"] = self.env_from()
        if chosen:
            extra["resources"] = chosen
        return {**container, **extra}


#: A serving container's preStop: a few seconds for its endpoint to leave every node's rules.
DRAIN: dict[str, Any] = {"preStop": {"sleep": {"seconds": 5}}}


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
