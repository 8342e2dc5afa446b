"""Turning one Arrow column into what the statistics need: finite sorted numbers, or category counts.

Missing values (null, NaN) and infinities are counted here and kept out of the statistics, so a column
full of them never crashes a check; their shares are reported and judged on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlpy.drift.errors import DriftError, SchemaMismatchError
from mlpy.drift.methods import Kind
from mlpy.drift.stats import FloatArray


@dataclass(frozen=True)
class NumericColumn:
    """Finite values, sorted ascending, and how many rows were null/NaN or infinite."""

    values: FloatArray
    rows: int
    nulls: int
    infinities: int


@dataclass(frozen=True)
class CategoricalColumn:
    """Counts per category label (as text) and how many rows were null."""

    counts: dict[str, int]
    rows: int
    nulls: int


def as_table(data: Any) -> pa.Table:
    """Accept an Arrow table, a pandas DataFrame or a mapping of column name to values."""
    if isinstance(data, pa.Table):
        return data
    if type(data).__module__.startswith("pandas") and hasattr(data, "columns"):
        # Checked by name so that reading files never pays for importing pandas.
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, Mapping):
        return pa.table(dict(data))
    raise DriftError(
        f"cannot use a {type(data).__name__} as data",
        hint="pass a pyarrow Table, a pandas DataFrame, or a file path",
    )


def kind_of(name: str, dtype: pa.DataType) -> Kind | None:
    """Numeric or categorical; None for a column with no values at all (Arrow's null type)."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return Kind.numeric
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_boolean(dtype):
        return Kind.categorical
    if pa.types.is_null(dtype):
        return None
    raise SchemaMismatchError(
        f"column {name!r} has type {dtype}, which drift cannot compare",
        hint="drift compares numbers and categories; leave it out with --features",
    )


def numeric_column(name: str, column: pa.ChunkedArray) -> NumericColumn:
    rows = len(column)
    if pa.types.is_null(column.type):
        return NumericColumn(np.empty(0, dtype=np.float64), rows, rows, 0)
    if kind_of(name, column.type) is not Kind.numeric:
        raise SchemaMismatchError(
            f"column {name!r} holds {column.type} in the current window but numbers in the reference",
            hint="check that the current window comes from the same pipeline as the reference",
        )
    arrow_nulls = column.null_count
    values = np.asarray(column.cast(pa.float64()).to_numpy(), dtype=np.float64)
    finite = np.isfinite(values)
    kept = values[finite] if arrow_nulls or not finite.all() else values.copy()
    nan_count = int(np.count_nonzero(np.isnan(values))) if len(kept) < rows else 0
    kept.sort()
    return NumericColumn(kept, rows, nan_count, rows - len(kept) - nan_count)


def categorical_column(name: str, column: pa.ChunkedArray) -> CategoricalColumn:
    rows = len(column)
    if pa.types.is_null(column.type):
        return CategoricalColumn({}, rows, rows)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    counted = pc.value_counts(column)
    labels = counted.field("values").to_pylist()
    counts = counted.field("counts").to_pylist()
    result = {label: int(count) for label, count in zip(labels, counts, strict=True) if label is not None}
    return CategoricalColumn(result, rows, column.null_count)
