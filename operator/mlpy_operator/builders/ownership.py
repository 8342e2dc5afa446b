"""Owner references, so the API server's garbage collector deletes children with their owner."""

from __future__ import annotations

from typing import Any


def owner_reference(owner: dict[str, Any], *, controller: bool = True) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def owned(child: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """The child with its owner set (replacing any other owner: the operator owns its children alone)."""
    meta = {**child["metadata"], "ownerReferences": [owner_reference(owner)]}
    return {**child, "metadata": meta}
