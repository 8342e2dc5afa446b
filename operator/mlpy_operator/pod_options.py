"""Where and as whom a child's pods run: the fields platform teams set on every workload.

One typed spec for the serving pods (a ModelVersion's ``spec.serving``) and the router pods (an
Experiment's ``spec.router``): the ServiceAccount (IRSA or Workload Identity for S3 artifacts), image
pull secrets, node selection, tolerations, affinity, topology spread, and extra pod labels and
annotations. The operator's own labels and annotations win over the user's: selectors depend on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpy_operator.errors import SpecError


@dataclass(frozen=True)
class PodOptions:
    service_account: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    affinity: dict[str, Any] = field(default_factory=dict)
    topology_spread: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> PodOptions:
        """From ``spec`` (the object holding the fields); ``where`` names it in errors."""
        try:
            secrets = tuple(str(s["name"]) for s in spec.get("imagePullSecrets") or [])
            return cls(
                service_account=spec.get("serviceAccountName") or None,
                image_pull_secrets=secrets,
                node_selector={str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()},
                tolerations=list(spec.get("tolerations") or []),
                affinity=dict(spec.get("affinity") or {}),
                topology_spread=list(spec.get("topologySpreadConstraints") or []),
                labels={str(k): str(v) for k, v in (spec.get("podLabels") or {}).items()},
                annotations={str(k): str(v) for k, v in (spec.get("podAnnotations") or {}).items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SpecError(
                f"{where}: a pod field is malformed: {exc}", hint=f"see kubectl explain {where}"
            ) from exc


def place(
    template: dict[str, Any], options: PodOptions, pull_secrets: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``template`` (a pod template) with the options applied; ``pull_secrets`` are the chart's
    (``global.imagePullSecrets``), given to every pod beside the spec's own."""
    meta = template["metadata"]
    spec = dict(template["spec"])
    labels = {**options.labels, **meta.get("labels", {})}
    annotations = {**options.annotations, **meta.get("annotations", {})}
    if options.service_account:
        spec["serviceAccountName"] = options.service_account
    secrets = list(dict.fromkeys((*pull_secrets, *options.image_pull_secrets)))
    if secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in secrets]
    for key, value in (
        ("nodeSelector", options.node_selector),
        ("tolerations", options.tolerations),
        ("affinity", options.affinity),
        ("topologySpreadConstraints", options.topology_spread),
    ):
        if value:
            spec[key] = value
    return {**template, "metadata": {**meta, "labels": labels, "annotations": annotations}, "spec": spec}
