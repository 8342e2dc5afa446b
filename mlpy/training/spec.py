"""A training job's spec: the user's entry point, its data, its parameters, the model to register under
and an optional promotion gate. Written as YAML (camelCase, as Kubernetes manifests are) or in Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlpy.training.errors import InvalidTrainingSpecError

ENTRY_POINT = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: ``atLeast: current`` compares with the version the gate's alias holds now.
CURRENT = "current"
_SPEC_KEYS = {"entryPoint", "data", "params", "model", "promote", "search", "description"}
_GATE_KEYS = {"alias", "metric", "atLeast", "lowerIsBetter"}
_SEARCH_KEYS = {"grid", "metric", "lowerIsBetter"}


@dataclass(frozen=True)
class PromotionGate:
    """Promote to ``alias`` only if ``metric`` is at least ``at_least``: a number, or ``current`` (the
    value of the version the alias holds now; with no such version the gate opens)."""

    metric: str
    at_least: float | str = CURRENT
    alias: str = "production"
    lower_is_better: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "metric": self.metric,
            "atLeast": self.at_least,
            "lowerIsBetter": self.lower_is_better,
        }


@dataclass(frozen=True)
class SearchSpace:
    """A grid of parameter values to try (each trial calls the function once), the best by ``metric``."""

    grid: dict[str, tuple[Any, ...]]
    metric: str
    lower_is_better: bool = False

    def candidates(self, base: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every combination of the grid, over the job's fixed parameters."""
        combos: list[dict[str, Any]] = [dict(base)]
        for key, values in self.grid.items():
            combos = [{**combo, key: value} for combo in combos for value in values]
        return combos

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid": {k: list(v) for k, v in self.grid.items()},
            "metric": self.metric,
            "lowerIsBetter": self.lower_is_better,
        }


@dataclass(frozen=True)
class TrainingSpec:
    entry_point: str
    data: dict[str, str]
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    promote: PromotionGate | None = None
    search: SearchSpace | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if not ENTRY_POINT.match(self.entry_point):
            raise InvalidTrainingSpecError(
                f"entry point {self.entry_point!r} is not package.module:function",
                hint="for example entryPoint: credit_training.train:fit",
            )
        if not MODEL_NAME.match(self.model):
            raise InvalidTrainingSpecError(
                f"bad model name {self.model!r}", hint="use letters, digits, '.', '_' or '-' (at most 128)"
            )
        if not self.data:
            raise InvalidTrainingSpecError(
                "the job names no data", hint="data: {train: s3://bucket/train.parquet}"
            )
        for name, uri in self.data.items():
            if not DATA_NAME.match(name) or not isinstance(uri, str) or not uri.strip():
                raise InvalidTrainingSpecError(
                    f"data entry {name!r}: {uri!r} is not NAME: URI",
                    hint="name each input with a Python identifier and give a path or URL",
                )

    @classmethod
    def from_dict(cls, raw: Any) -> TrainingSpec:
        if not isinstance(raw, Mapping):
            raise InvalidTrainingSpecError("a training spec is a mapping", hint="see docs/training.md")
        _no_unknown(raw, _SPEC_KEYS, "spec")
        for key in ("entryPoint", "data", "model"):
            if key not in raw:
                raise InvalidTrainingSpecError(f"the spec has no {key}", hint="see docs/training.md")
        data = raw["data"]
        if isinstance(data, str):
            data = {"train": data}
        if not isinstance(data, Mapping):
            raise InvalidTrainingSpecError("data is a URI or a mapping of NAME: URI")
        params = raw.get("params") or {}
        if not isinstance(params, Mapping):
            raise InvalidTrainingSpecError("params is a mapping of NAME: VALUE")
        return cls(
            entry_point=str(raw["entryPoint"]),
            data={str(k): str(v) for k, v in data.items()},
            model=str(raw["model"]),
            params=dict(params),
            promote=_gate(raw.get("promote")),
            search=_search(raw.get("search")),
            description=None if raw.get("description") is None else str(raw["description"]),
        )

    @classmethod
    def load(cls, path: str | Path) -> TrainingSpec:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidTrainingSpecError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidTrainingSpecError(f"{path} is not YAML: {' '.join(str(exc).split())}") from exc
        return cls.from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "entryPoint": self.entry_point,
            "data": dict(self.data),
            "model": self.model,
            "params": dict(self.params),
        }
        if self.promote is not None:
            data["promote"] = self.promote.to_dict()
        if self.search is not None:
            data["search"] = self.search.to_dict()
        if self.description is not None:
            data["description"] = self.description
        return data


def _no_unknown(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidTrainingSpecError(
            f"unknown {where} field(s) {', '.join(unknown)}", hint=f"known: {', '.join(sorted(known))}"
        )


def _gate(raw: Any) -> PromotionGate | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "metric" not in raw:
        raise InvalidTrainingSpecError(
            "promote needs a metric", hint="promote: {alias: production, metric: auc, atLeast: current}"
        )
    _no_unknown(raw, _GATE_KEYS, "promote")
    at_least = raw.get("atLeast", CURRENT)
    if at_least != CURRENT:
        if isinstance(at_least, bool) or not isinstance(at_least, int | float) or not math.isfinite(at_least):
            raise InvalidTrainingSpecError(
                f"promote.atLeast is {at_least!r}", hint="give a number or 'current'"
            )
        at_least = float(at_least)
    return PromotionGate(
        metric=str(raw["metric"]),
        at_least=at_least,
        alias=str(raw.get("alias", "production")),
        lower_is_better=bool(raw.get("lowerIsBetter", False)),
    )


def _search(raw: Any) -> SearchSpace | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "metric" not in raw or not isinstance(raw.get("grid"), Mapping):
        raise InvalidTrainingSpecError(
            "search needs a grid and a metric", hint="search: {grid: {C: [0.1, 1.0]}, metric: auc}"
        )
    _no_unknown(raw, _SEARCH_KEYS, "search")
    grid: dict[str, tuple[Any, ...]] = {}
    for key, values in raw["grid"].items():
        if not isinstance(values, list) or not values:
            raise InvalidTrainingSpecError(f"search.grid.{key} is not a non-empty list of values")
        grid[str(key)] = tuple(values)
    return SearchSpace(grid, str(raw["metric"]), bool(raw.get("lowerIsBetter", False)))
