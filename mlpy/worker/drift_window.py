"""One scheduled drift check: a model's logged inputs over a recent window against its reference.

The settings have the shape of a DriftMonitor's spec (what the operator hands its CronJob in
MLPY_DRIFT_SETTINGS), so the compose monitor and the Kubernetes job run the same check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mlpy.drift import PREDICTION, DriftReport, check
from mlpy.predlog import META_COLUMNS, read_window
from mlpy.registry import ModelRegistry, ModelVersion, RegistryError
from mlpy.store import Store, utcnow
from mlpy.worker.errors import InvalidSettingsError, ReferenceUnavailableError
from mlpy.worker.references import REFERENCE_TAG, load_reference

WINDOW = re.compile(r"^(\d+)(m|h|d)$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_window(text: str) -> timedelta:
    match = WINDOW.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InvalidSettingsError(f"window {text!r} is not a duration", hint="use e.g. 30m, 24h or 7d")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class DriftSettings:
    """What to check; ``reference`` None means the one the serving version was trained on."""

    model: str
    version: str | None = None
    reference: str | None = None
    window: timedelta = timedelta(hours=24)
    methods: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    drift_share: float = 0.5
    features: list[str] = field(default_factory=list)
    min_rows: int = 30

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DriftSettings:
        """Parse DriftMonitor-style settings (camelCase keys, as in MLPY_DRIFT_SETTINGS)."""
        try:
            model = str(data["model"])
            share = float(data.get("driftShare", 0.5))
            settings = cls(
                model=model,
                version=None if data.get("version") is None else str(data["version"]),
                reference=data.get("reference") or None,
                window=parse_window(str(data.get("window", "24h"))),
                methods={str(k): str(v) for k, v in (data.get("methods") or {}).items()},
                thresholds={str(k): float(v) for k, v in (data.get("thresholds") or {}).items()},
                drift_share=share,
                features=[str(f) for f in data.get("features") or []],
                min_rows=int(data.get("minRows", 30)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidSettingsError(
                f"drift settings are incomplete or malformed: {exc}",
                hint="give at least a model; window like 24h; thresholds and driftShare as numbers",
            ) from exc
        if not 0 < share <= 1:
            raise InvalidSettingsError(f"driftShare {share} is out of range", hint="use a share in (0, 1]")
        return settings


@dataclass(frozen=True)
class WindowCheck:
    """The outcome: a report, or why there was nothing to judge yet."""

    settings: DriftSettings
    rows: int
    report: DriftReport | None
    skipped: str | None = None


def _version(settings: DriftSettings, registry: ModelRegistry) -> ModelVersion:
    return registry.get_version(settings.model, settings.version or "@production")


def _reference_uri(settings: DriftSettings, registry: ModelRegistry) -> str:
    if settings.reference:
        return settings.reference
    version = _version(settings, registry)
    uri = version.tags.get(REFERENCE_TAG)
    if not uri:
        raise ReferenceUnavailableError(
            f"{version.ref} has no {REFERENCE_TAG} tag",
            hint="train it with 'mlpy worker submit train', or pass the reference explicitly",
        )
    return str(uri)


def check_window(
    settings: DriftSettings, store: Store, registry: ModelRegistry, *, now: datetime | None = None
) -> WindowCheck:
    """Read the window from the prediction log and judge it; too few rows is a skip, not a verdict."""
    until = now or utcnow()
    frame = read_window(store, settings.model, until - settings.window, until, version=settings.version)
    if len(frame) < settings.min_rows:
        return WindowCheck(
            settings, len(frame), None, f"{len(frame)} rows logged, fewer than {settings.min_rows}"
        )
    profile = load_reference(_reference_uri(settings, registry), settings.features or None)
    inputs = frame.drop(columns=[c for c in META_COLUMNS if c in frame.columns])
    features = settings.features or [name for name in profile.columns if name in inputs.columns]
    if not features:
        raise ReferenceUnavailableError(
            f"no logged input of {settings.model} is in its reference",
            hint="log predictions with feature names (the server does for models fitted on DataFrames)",
        )
    current = inputs[features]
    if PREDICTION in profile.columns and PREDICTION not in features:
        # The reference profile holds the model's outputs on the training data: judge the logged ones.
        current = current.assign(**{PREDICTION: frame["prediction"]})
        features = [*features, PREDICTION]
    report = check(
        profile,
        current,
        methods=settings.methods,
        thresholds=settings.thresholds,
        drift_share=settings.drift_share,
        features=features,
        importance=_importance(settings, registry),
    )
    return WindowCheck(settings, len(frame), report)


def _importance(settings: DriftSettings, registry: ModelRegistry) -> dict[str, Any] | None:
    """The checked version's feature importance; None when it has none (or is not registered here)."""
    try:
        return _version(settings, registry).importance
    except RegistryError:
        return None
