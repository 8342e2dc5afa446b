"""Turning request JSON into the matrix a model predicts on, with errors that name the exact field.

The common case (rows of numbers) costs one ``np.array`` call; only when that fails or looks wrong
does the slow walk run, to say which value at which position is the problem.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel, ValidationError

from mlpy.registry import NUMERIC_TYPES
from mlpy_server.errors import InvalidInputError, MalformedRequestError, PayloadTooLargeError
from mlpy_server.served import ServedModel

NUMERIC_KINDS = frozenset("biuf")


def parse_json(body: bytes) -> Any:
    if not body:
        raise MalformedRequestError("the request body is empty", hint="send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequestError(
            f"the body is not valid JSON: {exc}", hint="NaN and Infinity are not accepted"
        ) from exc


def parse_object(body: bytes) -> dict[str, Any]:
    data = parse_json(body)
    if not isinstance(data, dict):
        raise MalformedRequestError(f"the body must be a JSON object, got {_kind(data)}")
    return data


Body = TypeVar("Body", bound=BaseModel)


def parse_model(body: bytes, model: type[Body]) -> Body:
    """A small JSON body (feedback, weights) as ``model``: read like the hot path's, whatever the
    Content-Type says, and only after the caller's credential was checked."""
    data = parse_object(body)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "body"
        raise InvalidInputError(f"field {where!r}: {first.get('msg', 'invalid')}", field=where) from exc


def optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"field {key!r} must be a non-empty string, got {_kind(value)}", field=key)
    return value


def row_label(field: str, index: int, single: bool) -> str:
    return field if single else f"{field}[{index}]"


def rows_matrix(
    served: ServedModel, rows: Any, field: str, max_rows: int, *, single: bool = False
) -> tuple[Any, list[Any]]:
    """A list of rows (each a list of values or an object of named features) as model input.

    Returns the matrix (an ndarray, or a DataFrame for models with text features) and the rows as
    plain JSON for the prediction log.
    """
    if not isinstance(rows, list):
        raise InvalidInputError(f"field {field!r} must be a list of rows, got {_kind(rows)}", field=field)
    if not rows:
        raise InvalidInputError(f"field {field!r} must hold at least one row", field=field)
    if len(rows) > max_rows:
        raise PayloadTooLargeError(
            f"field {field!r} holds {len(rows)} rows, more than the limit of {max_rows}",
            hint="split the request or raise MLPY_MAX_BATCH_ROWS",
            field=field,
        )
    if any(type(row) is dict for row in rows):
        rows = [
            _ordered(served, row, row_label(field, i, single)) if isinstance(row, dict) else row
            for i, row in enumerate(rows)
        ]
    if served.frame:
        return _frame(served, rows, field, single), rows
    try:
        matrix = np.array(rows, dtype=None)
    except ValueError:
        matrix = None
    if matrix is None or matrix.ndim != 2 or matrix.dtype.kind not in NUMERIC_KINDS:
        _explain(served, rows, field, single)
        try:  # every value is a number: only Python ints too large for numpy's guess remain
            matrix = np.array(rows, dtype=np.float64)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidInputError(
                f"field {field!r} must be a list of rows of numbers", field=field
            ) from exc
    width = served.n_features
    if width and matrix.shape[1] != width:
        raise InvalidInputError(
            f"{row_label(field, 0, single)} has {matrix.shape[1]} values, "
            f"expected {width} ({_names(served)})",
            field=field,
        )
    if matrix.shape[1] == 0:
        raise InvalidInputError(f"{row_label(field, 0, single)} holds no values", field=field)
    matrix = matrix.astype(np.float64, copy=False)
    if not np.isfinite(matrix).all():
        row, col = np.argwhere(~np.isfinite(matrix))[0]
        where = f"{row_label(field, int(row), single)}[{col}]"
        raise InvalidInputError(f"non-finite value at {where}", field=where)
    return matrix, rows


def _ordered(served: ServedModel, row: dict[str, Any], where: str) -> list[Any]:
    """Named features in the model's order; a missing or unknown name is an error, never a guess."""
    names = served.feature_names
    if not names:
        raise InvalidInputError(
            f"{where}: this model has no feature names; send a list of values instead", field=where
        )
    try:
        values = [row[name] for name in names]
    except KeyError as exc:
        raise InvalidInputError(
            f"missing feature {exc.args[0]!r} in {where}", field=f"{where}.{exc.args[0]}"
        ) from exc
    if len(row) != len(names):
        extra = sorted(set(row) - set(names))
        raise InvalidInputError(
            f"unknown feature {extra[0]!r} in {where}; the model takes {_names(served)}",
            field=f"{where}.{extra[0]}",
        )
    return values


def _explain(served: ServedModel, rows: Sequence[Any], field: str, single: bool) -> None:
    """Find the first bad row or value and raise an error that points at it."""
    width = served.n_features or (len(rows[0]) if isinstance(rows[0], list) else 0)
    for i, row in enumerate(rows):
        where = row_label(field, i, single)
        if not isinstance(row, list):
            raise InvalidInputError(
                f"{where} must be a list of {width} numbers or an object of features, got {_kind(row)}",
                field=where,
            )
        if len(row) != width:
            raise InvalidInputError(
                f"{where} has {len(row)} values, expected {width} ({_names(served)})", field=where
            )
        for j, value in enumerate(row):
            _check_number(value, f"{where}[{j}]", _feature(served, j))


def _check_number(value: Any, where: str, feature: str) -> None:
    if value is None:
        raise InvalidInputError(f"null at {where}{feature}: a number is required", field=where)
    if isinstance(value, bool):
        return
    if not isinstance(value, int | float):
        raise InvalidInputError(f"non-numeric value {_short(value)} at {where}{feature}", field=where)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(f"non-finite value at {where}{feature}", field=where)


def _frame(served: ServedModel, rows: list[Any], field: str, single: bool) -> Any:
    """Models with text features (pipelines with encoders) take a DataFrame with named columns."""
    width = served.n_features
    for i, row in enumerate(rows):
        where = row_label(field, i, single)
        if not isinstance(row, list) or len(row) != width:
            raise InvalidInputError(f"{where} must hold {width} values ({_names(served)})", field=where)
        for j, (value, kind) in enumerate(zip(row, served.feature_types, strict=True)):
            if kind in NUMERIC_TYPES:
                _check_number(value, f"{where}[{j}]", _feature(served, j))
            elif value is not None and not isinstance(value, str):
                raise InvalidInputError(
                    f"{where}[{j}]{_feature(served, j)} must be a string, got {_kind(value)}",
                    field=f"{where}[{j}]",
                )
    # An object matrix; the DataFrame is made when predicted, once per (possibly batched) call.
    matrix = np.empty((len(rows), width), dtype=object)
    matrix[:] = rows
    return matrix


def _feature(served: ServedModel, index: int) -> str:
    if index < served.n_features:
        return f" (feature {served.feature_names[index]!r})"
    return ""


def _names(served: ServedModel) -> str:
    names = served.feature_names
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return shown or "no names recorded"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def kind_of(value: Any) -> str:
    return _kind(value)
