"""Collecting a version's card from what mlpy already keeps: the registry, the drift reference and
history, the experiments and the fairness results. Each source that has nothing says so in its section.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from mlpy.cards.content import ModelCard, Section
from mlpy.cards.errors import CardError
from mlpy.drift import DriftError, DriftProfile, history
from mlpy.experiments import ExperimentRepository
from mlpy.monitoring import fairness_report
from mlpy.registry import (
    DRIFT_REFERENCE_TAG,
    INTENDED_USE_TAG,
    LIMITATIONS_TAG,
    SENSITIVE_FEATURES_TAG,
    AliasChange,
    ModelRegistry,
    ModelVersion,
    RegistryError,
    parse_model_id,
)
from mlpy.store import utcnow

#: Tags the card shows in its own sections instead of the tag list.
_SHOWN_ELSEWHERE = (INTENDED_USE_TAG, LIMITATIONS_TAG, DRIFT_REFERENCE_TAG, SENSITIVE_FEATURES_TAG)
DRIFT_CHECKS_SHOWN = 20
FAIRNESS_WINDOW = timedelta(days=7)


def build_card(
    registry: ModelRegistry,
    name: str,
    ref: int | str,
    *,
    drift_datasets: Iterable[str] = (),
    fairness_window: timedelta = FAIRNESS_WINDOW,
) -> ModelCard:
    """The card of ``name`` at ``ref``. ``drift_datasets``: more drift history names to include (a
    DriftMonitor records under ``namespace/name``); ``fairness_window``: how far back the fairness of
    the declared sensitive features is measured on logged, labelled predictions."""
    try:
        version = registry.get_version(name, ref)
        lineage = registry.lineage(name, ref)
        changes = [c for c in registry.history(name) if version.version in (c.from_version, c.to_version)]
    except RegistryError as exc:
        raise CardError(f"no card for {name} {ref}: {exc}") from exc
    sections = (
        _details(version, lineage),
        _text_section("Intended use", version, INTENDED_USE_TAG, "--intended-use"),
        _factors(version),
        _metrics(version),
        _training_data(version),
        _experiments(registry, version),
        _drift_history(registry, version, drift_datasets),
        _fairness(registry, version, fairness_window),
        _text_section("Caveats and recommendations", version, LIMITATIONS_TAG, "--limitations"),
        Section(
            "Governance",
            rows=[_change(change) for change in changes],
            note=None if changes else f"no alias has pointed at {version.ref}",
        ),
    )
    return ModelCard(version.name, version.version, utcnow().isoformat(timespec="seconds"), sections)


def _change(change: AliasChange) -> dict[str, Any]:
    return {
        "alias": change.alias,
        "action": change.action,
        "from_version": change.from_version,
        "to_version": change.to_version,
        "actor": change.actor,
        "reason": change.reason,
        "at": change.at.isoformat(timespec="seconds"),
    }


def _details(version: ModelVersion, lineage: list[ModelVersion]) -> Section:
    facts = {
        "name": version.name,
        "version": version.version,
        "estimator": version.estimator,
        "format": version.format,
        "sha256": version.sha256,
        "size_bytes": version.size_bytes,
        "registered_at": version.created_at.isoformat(timespec="seconds"),
        "author": version.author,
        "description": version.description,
        "aliases": ", ".join(version.aliases) or None,
        "artifact": version.artifact_uri,
        "tags": {k: v for k, v in version.tags.items() if k not in _SHOWN_ELSEWHERE} or None,
    }
    rows = [
        {
            "version": v.ref,
            "registered_at": v.created_at.isoformat(timespec="seconds"),
            "author": v.author,
            "sha256": v.sha256,
        }
        for v in lineage
    ]
    return Section("Model details", facts, rows)


def _text_section(title: str, version: ModelVersion, tag: str, option: str) -> Section:
    text = version.tags.get(tag)
    if text:
        return Section(title, {"text": str(text)})
    return Section(title, note=f"not given at registration (mlpy registry register {option} TEXT)")


def _factors(version: ModelVersion) -> Section:
    """The inputs, each with its permutation importance when it was measured at registration."""
    inputs = (version.signature or {}).get("inputs") or []
    importance = version.importance or {}
    rows = []
    for item in inputs:
        row = dict(item)
        measured = importance.get(str(item.get("name")))
        if importance:
            row["importance"] = None if measured is None else measured.get("mean")
            row["importance_std"] = None if measured is None else measured.get("std")
        rows.append(row)
    groups = version.tags.get(SENSITIVE_FEATURES_TAG)
    facts = {"sensitive_features": groups} if groups else {}
    if not importance:
        facts["importance"] = "not measured (register with validation=(X, y))"
    note = None if inputs else "no input signature was recorded"
    return Section("Factors", facts, rows, note)


def _metrics(version: ModelVersion) -> Section:
    rows = [{"parameter": key, "value": value} for key, value in sorted(version.params.items())]
    note = None if version.metrics or rows else "no metrics or parameters were recorded"
    return Section("Metrics", dict(sorted(version.metrics.items())), rows, note)


def _training_data(version: ModelVersion) -> Section:
    uri = version.tags.get(DRIFT_REFERENCE_TAG)
    if not uri:
        return Section(
            "Training data", note=f"no {DRIFT_REFERENCE_TAG} tag: the training inputs' profile was not kept"
        )
    try:
        profile = DriftProfile.load(str(uri))
    except DriftError as exc:
        return Section("Training data", {"profile": str(uri)}, note=f"the profile cannot be read: {exc}")
    facts = {"profile": str(uri), "source": profile.source, "rows": profile.rows}
    return Section("Training data", facts, profile.summary())


def _experiments(registry: ModelRegistry, version: ModelVersion) -> Section:
    rows = []
    for record in ExperimentRepository(registry.store).list():
        for variant in record.config.variants:
            if variant.model_version and _same_version(registry, variant.model_version, version):
                rows.append(
                    {
                        "experiment": record.name,
                        "variant": variant.name,
                        "status": record.status,
                        "started_at": record.started_at.isoformat(timespec="seconds"),
                        "decision": record.decision,
                        "winner": record.winner,
                    }
                )
    return Section("Experiments", rows=rows, note=None if rows else f"{version.ref} was in no experiment")


def _same_version(registry: ModelRegistry, model_id: str, version: ModelVersion) -> bool:
    """Whether a variant's model id (``credit:2``, ``credit@staging``) names this version now."""
    try:
        name, ref = parse_model_id(model_id)
        if name != version.name:
            return False
        if ref.number is not None:
            return ref.number == version.version
        return registry.get_version(name, f"@{ref.alias}").version == version.version
    except RegistryError:
        return False


def _drift_history(registry: ModelRegistry, version: ModelVersion, extra: Iterable[str]) -> Section:
    names = dict.fromkeys([version.name, version.ref, *extra])
    checks: list[dict[str, Any]] = []
    for dataset in names:
        checks.extend(history(store=registry.store.url, dataset=dataset, limit=DRIFT_CHECKS_SHOWN))
    checks.sort(key=lambda check: check["created_at"], reverse=True)
    rows = [
        {
            "checked_at": check["created_at"],
            "dataset": check["dataset"],
            "current_rows": check["current_rows"],
            "drifted_columns": f"{check['number_of_drifted_columns']} of {check['number_of_columns']}",
            "drift_share": round(float(check["drift_share"]), 4),
            "dataset_drift": check["dataset_drift"],
        }
        for check in checks[:DRIFT_CHECKS_SHOWN]
    ]
    note = None if rows else f"no drift check recorded under {', '.join(names)}"
    return Section("Drift history", rows=rows, note=note)


def _fairness(registry: ModelRegistry, version: ModelVersion, window: timedelta) -> Section:
    title = "Ethical considerations"
    declared = version.tags.get(SENSITIVE_FEATURES_TAG)
    if not declared:
        return Section(
            title, note="no sensitive features were declared at registration (--sensitive-feature)"
        )
    report = fairness_report(registry.store, version.name, str(version.version), window)
    facts: dict[str, Any] = {
        "sensitive_features": declared,
        "window": f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC",
        "labelled_samples": report.samples,
    }
    for attribute in report.attributes:
        facts[f"{attribute.attribute}: demographic_parity_difference"] = (
            attribute.demographic_parity_difference
        )
        facts[f"{attribute.attribute}: equalized_odds_difference"] = attribute.equalized_odds_difference
    rows = [{"attribute": a.attribute, **g.to_dict()} for a in report.attributes for g in a.groups]
    note = None if rows else "no labelled predictions with group attributes were logged in the window"
    return Section(title, facts, rows, note)
