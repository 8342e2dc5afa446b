"""What the registry returns: plain, immutable records that serialise to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    artifact_uri: str
    format: str
    sha256: str
    size_bytes: int
    created_at: datetime
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    signature: dict[str, Any] | None = None
    # Permutation importance per feature, {name: {"mean": m, "std": s}}; None when not given.
    importance: dict[str, Any] | None = None
    estimator: str | None = None
    parent: str | None = None
    author: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = _iso(self.created_at)
        data["aliases"] = list(self.aliases)
        return data


@dataclass(frozen=True)
class ModelSummary:
    name: str
    latest_version: int | None
    versions: int
    aliases: dict[str, int]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = _iso(self.created_at)
        return data


@dataclass(frozen=True)
class AliasChange:
    """One entry of the append-only alias audit log."""

    name: str
    alias: str
    action: str
    from_version: int | None
    to_version: int | None
    actor: str | None
    reason: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = _iso(self.at)
        return data


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [item.to_dict() if hasattr(item, "to_dict") else item for item in self.items],
            "next_page_token": self.next_page_token,
            "total": self.total,
        }


@dataclass(frozen=True)
class Difference:
    a: Any
    b: Any
    delta: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    name: str
    a: int
    b: int
    metrics: dict[str, Difference]
    params: dict[str, Difference]
    same_artifact: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "a": self.a,
            "b": self.b,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "params": {k: v.to_dict() for k, v in self.params.items()},
            "same_artifact": self.same_artifact,
        }


@dataclass(frozen=True)
class CleanupPlan:
    """What ``gc`` deleted, or would delete in a dry run, and why each kept version stayed."""

    name: str
    dry_run: bool
    deleted: list[int]
    kept: list[int]
    protected: dict[int, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verification:
    name: str
    version: int
    artifact_uri: str
    expected_sha256: str
    actual_sha256: str | None
    size_bytes: int | None
    ok: bool
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
