"""Status conditions in the Kubernetes style, each stamped with the generation it describes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def now_iso(now: datetime | None = None) -> str:
    """``now`` (the wall clock when not given) as Kubernetes writes times: whole seconds, ``Z``."""
    return (now or datetime.now(UTC)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def condition(kind: str, ok: bool | None, reason: str, message: str, generation: int) -> dict[str, Any]:
    status = "Unknown" if ok is None else ("True" if ok else "False")
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now_iso(),
    }


def merge_conditions(
    old: list[dict[str, Any]] | None, new: list[dict[str, Any]], remove: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """New conditions replace old ones of the same type, ``remove`` names those that no longer apply;
    a transition time moves only when the status does."""
    previous = {c.get("type"): c for c in old or [] if c.get("type") not in remove}
    merged = []
    for item in new:
        before = previous.pop(item["type"], None)
        if before is not None and before.get("status") == item["status"] and before.get("lastTransitionTime"):
            item = {**item, "lastTransitionTime": before["lastTransitionTime"]}
        merged.append(item)
    merged.extend(previous.values())
    return merged


def is_true(conditions: list[dict[str, Any]] | None, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions or [])
