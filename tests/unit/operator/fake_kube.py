"""An in-memory stand-in for ``mlpy_operator.kube.Kube``: enough of the API for reconcile logic."""

from __future__ import annotations

import copy
import itertools
from typing import Any

_uids = itertools.count(1)


class FakeKube:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.events: list[tuple[str, str, str, bool]] = []
        self._clock = itertools.count(1)

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` as the API server would: a uid and a creation time (in creation order)."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{next(_uids)}")
        meta.setdefault("creationTimestamp", f"2026-12-01T00:00:{next(self._clock):02d}Z")
        meta.setdefault("generation", 1)
        self.objects[(obj["kind"], meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        old = self.objects.get(key)
        if old is None:
            return copy.deepcopy(self.add(obj))
        merged = copy.deepcopy(obj)
        merged["metadata"] = {**old["metadata"], **merged["metadata"]}
        if "status" in old:
            merged["status"] = old["status"]
        self.objects[key] = merged
        return copy.deepcopy(merged)

    def get(self, _api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found else None

    def list(
        self,
        _api_version: str,
        kind: str,
        namespace: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        wanted = [tuple(term.split("=", 1)) for term in (field_selector or "").split(",") if term]
        items = []
        for (k, ns, _), obj in self.objects.items():
            if k != kind or ns != namespace:
                continue
            if all(_field(obj, path) == value for path, value in wanted):
                item = copy.deepcopy(obj)
                item.pop("kind", None)  # list items carry no kind, as from the API
                item.pop("apiVersion", None)
                items.append(item)
        return items

    def patch_status(self, kind: str, name: str, namespace: str, status: dict[str, Any]) -> None:
        obj = self.objects.get((kind, namespace, name))
        if obj is not None:
            obj["status"] = {**(obj.get("status") or {}), **status}

    def patch_spec(self, kind: str, name: str, namespace: str, spec: dict[str, Any]) -> None:
        obj = self.objects[(kind, namespace, name)]
        obj["spec"] = {**obj["spec"], **spec}

    def event(self, involved: dict[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
        self.events.append((involved["metadata"]["name"], reason, message, warning))


def _field(obj: dict[str, Any], path: str) -> str | None:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if value is None else str(value)
