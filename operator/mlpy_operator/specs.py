"""Typed views of the custom resources' specs; the API server already checked types, ranges and enums."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from mlpy.errors import MlpyError
from mlpy.experiments import ExperimentConfig
from mlpy_operator.errors import SpecError
from mlpy_operator.pod_options import PodOptions

T = TypeVar("T")

DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str, field_name: str) -> timedelta:
    match = DURATION.match(text or "")
    if not match:
        raise SpecError(
            f"{field_name}: {text!r} is not a duration", hint="use a number and s, m, h or d, e.g. 24h"
        )
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class ObjectRef:
    name: str
    namespace: str
    uid: str
    generation: int


def object_ref(body: dict[str, Any]) -> ObjectRef:
    meta = body.get("metadata", {})
    return ObjectRef(
        meta["name"], meta.get("namespace", "default"), meta.get("uid", ""), int(meta.get("generation", 1))
    )


def _optional(kind: Callable[[Any], T], value: Any) -> T | None:
    return None if value is None else kind(value)


@dataclass(frozen=True)
class ModelVersionSpec:
    model: str
    version: int
    uri: str
    sha256: str
    format: str = "skops"
    stage: str = "none"
    replicas: int = 1
    resources: dict[str, Any] = field(default_factory=dict)
    image: str | None = None
    trust_pickle: bool = False
    compiled: bool = False
    grpc: bool = False
    batching_max_rows: int | None = None
    batching_max_wait_ms: float | None = None
    #: Group attributes requests may carry for fairness monitoring (the registry's declared ones).
    sensitive_features: tuple[str, ...] = ()
    env: list[dict[str, Any]] = field(default_factory=list)
    pod: PodOptions = field(default_factory=PodOptions)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> ModelVersionSpec:
        try:
            artifact = spec["artifact"]
            serving = spec.get("serving") or {}
            parsed = cls(
                model=str(spec["model"]),
                version=int(spec["version"]),
                uri=str(artifact["uri"]),
                sha256=str(artifact["sha256"]).lower(),
                format=str(artifact.get("format", "skops")),
                stage=str(spec.get("stage", "none")),
                replicas=int(spec.get("replicas", 1)),
                resources=dict(spec.get("resources") or {}),
                image=serving.get("image"),
                trust_pickle=bool(serving.get("trustPickle", False)),
                compiled=bool(serving.get("compiled", False)),
                grpc=bool(serving.get("grpc", False)),
                batching_max_rows=_optional(int, (serving.get("batching") or {}).get("maxRows")),
                batching_max_wait_ms=_optional(float, (serving.get("batching") or {}).get("maxWaitMs")),
                sensitive_features=tuple(str(name) for name in serving.get("sensitiveFeatures") or ()),
                env=list(serving.get("env") or []),
                pod=PodOptions.from_spec(serving, "modelversion.spec.serving"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(
                f"spec is incomplete: {exc}", hint="see kubectl explain modelversion.spec"
            ) from exc
        if parsed.format != "skops" and not parsed.trust_pickle:
            raise SpecError(
                f"artifact format {parsed.format} runs code when loaded",
                hint="set spec.serving.trustPickle: true for artifacts you produced, or use skops",
            )
        return parsed


@dataclass(frozen=True)
class DriftMonitorSpec:
    reference_uri: str
    schedule: str
    window: timedelta
    model: str | None = None
    model_version: str | None = None
    methods: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    drift_share: float = 0.5
    features: list[str] = field(default_factory=list)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> DriftMonitorSpec:
        try:
            parsed = cls(
                reference_uri=str(spec["reference"]["uri"]),
                schedule=str(spec["schedule"]),
                window=parse_duration(str(spec.get("window", "24h")), "spec.window"),
                model=spec.get("model"),
                model_version=spec.get("modelVersion"),
                methods={str(k): str(v) for k, v in (spec.get("methods") or {}).items()},
                thresholds={str(k): float(v) for k, v in (spec.get("thresholds") or {}).items()},
                drift_share=float(spec.get("driftShare", 0.5)),
                features=[str(f) for f in spec.get("features") or []],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(
                f"spec is incomplete: {exc}", hint="see kubectl explain driftmonitor.spec"
            ) from exc
        if (parsed.model is None) == (parsed.model_version is None):
            raise SpecError("set exactly one of spec.model or spec.modelVersion")
        return parsed


@dataclass(frozen=True)
class ExperimentSpec:
    """An Experiment's spec, parsed once: the model, the experiment itself (variants, strategy, metric,
    stopping), and how the operator runs its routers. ``raw`` is the spec as written, which the routers
    are handed."""

    model: str
    config: ExperimentConfig
    versions: dict[str, str]  # variant -> the ModelVersion serving it
    promotion: str = "manual"
    router_replicas: int | None = None
    router_resources: dict[str, Any] | None = None
    router_pod: PodOptions = field(default_factory=PodOptions)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def variants(self) -> list[str]:
        """Variant names, the control first."""
        return [v.name for v in self.config.variants]

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> ExperimentSpec:
        try:
            config = ExperimentConfig.from_dict(spec)
        except MlpyError as exc:
            raise SpecError(str(exc)) from exc
        try:
            router = spec.get("router") or {}
            replicas = router.get("replicas")
            return cls(
                model=str(spec["model"]),
                config=config,
                versions={str(v["name"]): str(v["modelVersion"]) for v in spec["variants"]},
                promotion=str(spec.get("promotion", "manual")),
                router_replicas=int(replicas) if replicas else None,
                router_resources=router.get("resources"),
                router_pod=PodOptions.from_spec(router, "experiment.spec.router"),
                raw=dict(spec),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"spec is incomplete: {exc}", hint="see kubectl explain experiment.spec") from exc
