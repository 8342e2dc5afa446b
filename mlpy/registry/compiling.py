"""``register(..., compile=True)``: record in the version's tags whether the model compiles (ONNX
Runtime first, else treelite) and agrees with scikit-learn on the probes, the input example and the
stored sample (mlpy.compiled), so a reader sees it before serving it.

The server converts and verifies again, on the same rows, when it loads the version: the record
says what was true at registration, with that runtime; the server's own check decides what it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlpy.registry.signature import takes_named_columns, text_categories, verification_rows


def conversion_tags(model: Any, signature: Mapping[str, Any] | None) -> dict[str, str]:
    from mlpy.compiled import conversion_tags as convert

    inputs = (signature or {}).get("inputs") or []
    names = [str(i["name"]) for i in inputs]
    types = [str(i.get("type", "number")) for i in inputs]
    by_name = takes_named_columns(model, types)
    return convert(
        model,
        names,
        types,
        by_name=by_name,
        categories=text_categories(model),
        **verification_rows(signature),
    )
