"""Group attributes sent with a prediction (a version's declared sensitive features), for fairness.

The native API takes ``"groups": {"sex": "f"}`` beside ``features`` (a list of values per name for a
batch, one value for every row otherwise); the Open Inference Protocol takes the same object as the
``groups`` request parameter (or as its JSON text, which gRPC parameters can carry). Only names the
version declares are accepted: an undeclared one is a 422 naming it, never silently dropped.
"""

from __future__ import annotations

from typing import Any

import orjson

from mlpy_server.errors import InvalidInputError
from mlpy_server.inputs import kind_of
from mlpy_server.served import ServedModel

MAX_VALUE_LENGTH = 128


def parse_groups(
    served: ServedModel, raw: Any, rows: int, field: str = "groups"
) -> dict[str, list[Any]] | None:
    """``{name: [one value per row]}`` from what the request sent, or None when it sent none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInputError(
            f"field {field!r} must be an object of group attributes, got {kind_of(raw)}", field=field
        )
    declared = served.sensitive_features
    undeclared = [name for name in raw if name not in declared]
    if undeclared:
        listed = ", ".join(repr(name) for name in undeclared)
        allowed = ", ".join(declared) if declared else "none"
        raise InvalidInputError(
            f"undeclared group attribute {listed} in {field!r}: {served.ref} declares {allowed}",
            hint="register the version with sensitive_features=[...] (--sensitive-feature) to accept it",
            field=f"{field}.{undeclared[0]}",
        )
    parsed = {name: _values(value, rows, f"{field}.{name}") for name, value in raw.items()}
    return parsed or None


def parameter_groups(
    served: ServedModel, parameters: dict[str, Any], rows: int
) -> dict[str, list[Any]] | None:
    """The ``groups`` request parameter of an inference: the object, or its JSON text (gRPC)."""
    field = "parameters.groups"
    raw = parameters.get("groups")
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidInputError(f"field {field!r} is text but not JSON: {exc}", field=field) from exc
    return parse_groups(served, raw, rows, field)


def _values(value: Any, rows: int, where: str) -> list[Any]:
    values = value if isinstance(value, list) else [value] * rows
    if len(values) != rows:
        raise InvalidInputError(
            f"{where} holds {len(values)} values for {rows} rows",
            hint="one value per row, or one for all",
            field=where,
        )
    for index, item in enumerate(values):
        _check_value(item, where if not isinstance(value, list) else f"{where}[{index}]")
    return values


def _check_value(value: Any, where: str) -> None:
    """A group is a label: text, an integer or a boolean (a float would make a group per value)."""
    if isinstance(value, str):
        if not value or len(value) > MAX_VALUE_LENGTH:
            raise InvalidInputError(f"{where} must be 1-{MAX_VALUE_LENGTH} characters", field=where)
        return
    if not isinstance(value, int):
        raise InvalidInputError(
            f"{where} must be a string, an integer or a boolean, got {kind_of(value)}", field=where
        )
