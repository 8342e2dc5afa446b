"""The reference profile: everything a check needs from the reference, computed once, stored as one file.

A scheduled check then reads only the current window. Per numeric column the profile keeps the sorted
finite values (or, above ``max_sample`` values, a quantile sketch of them: the values at evenly spaced
mid-ranks, which reproduces the reference CDF to within 1/max_sample), reference-quantile bin edges with
the reference counts, and a chart histogram. Per categorical column it keeps the category counts.
The file is a NumPy ``.npz`` read with ``allow_pickle=False`` plus a JSON header with a format version
(profile_storage.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mlpy.drift.columns import as_table, categorical_column, kind_of, numeric_column
from mlpy.drift.errors import ProfileFormatError, SchemaMismatchError
from mlpy.drift.methods import DEFAULT_BINS, DISCRETE_MAX_VALUES, Kind
from mlpy.drift.profile_storage import read_profile, write_profile
from mlpy.drift.sources import ColumnSource, map_columns
from mlpy.drift.stats import FloatArray, IntArray
from mlpy.store import utcnow

DEFAULT_MAX_SAMPLE = 100_000
DEFAULT_MAX_CATEGORIES = 1_000
CHART_BINS = 24
OTHER = "(other)"
#: Categories a summary row names before it counts the rest.
SUMMARY_CATEGORIES = 5

Progress = Callable[[str], None]


def bucket_counts(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts in (-inf, e0), [e0, e1), ..., [ek, inf) of an ascending array: one binary search per edge."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(np.concatenate(([0], cuts, [len(sorted_values)]))).astype(np.int64)


def point_counts(sorted_values: FloatArray, points: FloatArray) -> IntArray:
    """Counts of each of ``points``, then of every other value (unseen in the reference), last."""
    hits = np.searchsorted(sorted_values, points, side="right") - np.searchsorted(
        sorted_values, points, side="left"
    )
    return np.append(hits, len(sorted_values) - hits.sum()).astype(np.int64)


def quantile_sketch(sorted_values: FloatArray, size: int) -> FloatArray:
    """The values at ranks (i + ½)·n/size: a deterministic, evenly spread stand-in for the full sample."""
    n = len(sorted_values)
    if n <= size:
        return sorted_values
    ranks = ((np.arange(size) + 0.5) * (n / size)).astype(np.int64)
    return sorted_values[ranks]


@dataclass
class NumericProfile:
    name: str
    rows: int
    nulls: int
    infinities: int
    count: int
    mean: float
    std: float
    sketch: FloatArray
    # Discrete columns (few distinct values) keep the values themselves as buckets, else quantile edges.
    discrete: bool
    edges: FloatArray
    counts: IntArray
    chart_edges: FloatArray
    chart_counts: IntArray
    kind: Kind = field(default=Kind.numeric, init=False)

    @property
    def exact(self) -> bool:
        return len(self.sketch) == self.count

    @classmethod
    def build(cls, name: str, column: pa.ChunkedArray, *, max_sample: int, bins: int) -> NumericProfile:
        data = numeric_column(name, column)
        values = data.values
        distinct = np.append(values[:-1][np.diff(values) != 0], values[-1:]) if len(values) else values
        discrete = 0 < len(distinct) <= DISCRETE_MAX_VALUES
        if discrete:
            edges = distinct
            counts = point_counts(values, edges)
        else:
            edges = (
                np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])) if len(values) else values
            )
            counts = bucket_counts(values, edges)
        chart_edges = _chart_edges(values)
        with np.errstate(over="ignore", invalid="ignore"):
            # Values near the float limit overflow the variance; inf then reads as "no usable scale".
            mean = float(values.mean()) if len(values) else float("nan")
            std = float(values.std()) if len(values) else float("nan")
        return cls(
            name=name,
            rows=data.rows,
            nulls=data.nulls,
            infinities=data.infinities,
            count=len(values),
            mean=mean,
            std=std,
            sketch=quantile_sketch(values, max_sample),
            discrete=discrete,
            edges=np.asarray(edges, dtype=np.float64),
            counts=counts,
            chart_edges=chart_edges,
            chart_counts=bucket_counts(values, chart_edges),
        )


def _chart_edges(values: FloatArray) -> FloatArray:
    """Equal-width edges over the reference's central 99%, so one outlier does not flatten the chart."""
    if len(values) == 0:
        return np.empty(0, dtype=np.float64)
    low, high = np.quantile(values, [0.005, 0.995])
    if high <= low:
        low, high = float(values[0]), float(values[-1])
    if high <= low:
        return np.asarray([low], dtype=np.float64)
    return np.linspace(low, high, CHART_BINS + 1)[1:-1]


@dataclass
class CategoricalProfile:
    name: str
    rows: int
    nulls: int
    categories: list[str]
    counts: IntArray
    # Rows in categories beyond ``max_categories`` (lumped together as "(other)").
    other: int
    kind: Kind = field(default=Kind.categorical, init=False)

    @property
    def count(self) -> int:
        return self.rows - self.nulls

    @classmethod
    def build(cls, name: str, column: pa.ChunkedArray, *, max_categories: int) -> CategoricalProfile:
        data = categorical_column(name, column)
        ranked = sorted(data.counts.items(), key=lambda item: (-item[1], item[0]))
        kept, rest = ranked[:max_categories], ranked[max_categories:]
        return cls(
            name=name,
            rows=data.rows,
            nulls=data.nulls,
            categories=[label for label, _ in kept],
            counts=np.asarray([count for _, count in kept], dtype=np.int64),
            other=sum(count for _, count in rest),
        )


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass
class DriftProfile:
    """The reference side of every check; build it with :meth:`from_data` or :meth:`from_file`."""

    columns: dict[str, ColumnProfile]
    rows: int
    source: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(
        cls,
        data: Any,
        *,
        columns: Sequence[str] | None = None,
        max_sample: int = DEFAULT_MAX_SAMPLE,
        bins: int = DEFAULT_BINS,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
        source: str | None = None,
        progress: Progress | None = None,
    ) -> DriftProfile:
        """Profile a pyarrow Table, pandas DataFrame or column mapping (only ``columns`` when given)."""
        source_columns = ColumnSource(as_table(data), columns, label="the reference")
        return cls.from_columns(source_columns, source, progress, max_sample, bins, max_categories)

    @classmethod
    def from_file(
        cls,
        location: str | Path,
        *,
        columns: Sequence[str] | None = None,
        max_sample: int = DEFAULT_MAX_SAMPLE,
        bins: int = DEFAULT_BINS,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
        progress: Progress | None = None,
    ) -> DriftProfile:
        """Profile a CSV or Parquet file (path or URL), reading Parquet one column at a time."""
        source_columns = ColumnSource(location, columns, label=repr(str(location)))
        return cls.from_columns(source_columns, str(location), progress, max_sample, bins, max_categories)

    @classmethod
    def from_columns(
        cls,
        data: ColumnSource,
        source: str | None = None,
        progress: Progress | None = None,
        max_sample: int = DEFAULT_MAX_SAMPLE,
        bins: int = DEFAULT_BINS,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
    ) -> DriftProfile:
        """Profile the columns ``data`` names, several at a time."""
        if max_sample < 2 or bins < 2 or max_categories < 1:
            raise ProfileFormatError("max_sample and bins must be at least 2, max_categories at least 1")

        def build(name: str) -> ColumnProfile:
            column = data.column(name)
            kind = kind_of(name, column.type)
            if kind is None:
                raise SchemaMismatchError(
                    f"reference column {name!r} has no values at all, so there is nothing to compare with",
                    hint="leave it out with --features or use a reference where it is filled",
                )
            if kind is Kind.numeric:
                return NumericProfile.build(name, column, max_sample=max_sample, bins=bins)
            return CategoricalProfile.build(name, column, max_categories=max_categories)

        profiles = map_columns(data.names, build, progress)
        settings = {"max_sample": max_sample, "bins": bins, "max_categories": max_categories}
        return cls(profiles, data.num_rows, source=source, settings=settings)

    def save(self, location: str | Path) -> str:
        """Write the profile as one ``.npz`` file, a path or a URL (the suffix is added when missing)."""
        arrays: dict[str, Any] = {}
        described = []
        for index, profile in enumerate(self.columns.values()):
            described.append(_describe(profile))
            for key, value in _arrays(profile).items():
                arrays[f"c{index}.{key}"] = value
        header = {
            "created_at": self.created_at.isoformat(),
            "rows": self.rows,
            "source": self.source,
            "settings": self.settings,
            "columns": described,
        }
        return write_profile(str(location), header, arrays)

    @classmethod
    def load(cls, location: str | Path) -> DriftProfile:
        """Read a profile from a path or a URL; never unpickles anything."""
        source = str(location)
        header, arrays = read_profile(source)
        try:
            columns = [_restore(index, meta, arrays) for index, meta in enumerate(header["columns"])]
            return cls(
                {profile.name: profile for profile in columns},
                int(header["rows"]),
                source=header.get("source"),
                created_at=datetime.fromisoformat(header["created_at"]),
                settings=dict(header.get("settings") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileFormatError(f"profile {source!r} is damaged: missing {exc}") from exc

    def names(self) -> Iterable[str]:
        return self.columns.keys()

    def summary(self) -> list[dict[str, Any]]:
        """One plain row per column, as a model card shows the training data: kind, rows, nulls, and the
        mean and spread of a number or the most frequent categories of a label."""
        rows = []
        for profile in self.columns.values():
            row: dict[str, Any] = {
                "name": profile.name,
                "kind": profile.kind.value,
                "rows": profile.rows,
                "nulls": profile.nulls,
            }
            if isinstance(profile, NumericProfile):
                row |= {"mean": profile.mean, "std": profile.std}
            else:
                top = ", ".join(profile.categories[:SUMMARY_CATEGORIES])
                more = len(profile.categories) - SUMMARY_CATEGORIES
                row["categories"] = f"{top} (+{more} more)" if more > 0 else top
            rows.append(row)
        return rows

    def require(self, names: Sequence[str] | None) -> list[str]:
        """``names`` (all columns when None), after checking the profile has each of them."""
        if names is None:
            return list(self.columns)
        unknown = [name for name in names if name not in self.columns]
        if unknown:
            raise SchemaMismatchError(
                f"the reference has no column(s) {', '.join(unknown)}",
                hint=f"reference columns: {', '.join(self.columns)}",
            )
        return list(names)


def _describe(profile: ColumnProfile) -> dict[str, Any]:
    common = {"name": profile.name, "kind": profile.kind.value, "rows": profile.rows, "nulls": profile.nulls}
    if isinstance(profile, NumericProfile):
        return common | {
            "infinities": profile.infinities,
            "count": profile.count,
            "mean": profile.mean,
            "std": profile.std,
            "discrete": profile.discrete,
        }
    return common | {"categories": profile.categories, "other": profile.other}


def _arrays(profile: ColumnProfile) -> dict[str, Any]:
    if isinstance(profile, NumericProfile):
        return {
            "sketch": profile.sketch,
            "edges": profile.edges,
            "counts": profile.counts,
            "chart_edges": profile.chart_edges,
            "chart_counts": profile.chart_counts,
        }
    return {"counts": profile.counts}


def _restore(index: int, meta: dict[str, Any], arrays: dict[str, Any]) -> ColumnProfile:
    def array(key: str, dtype: type[np.generic]) -> Any:
        return np.asarray(arrays[f"c{index}.{key}"], dtype=dtype)

    if meta["kind"] == Kind.numeric.value:
        return NumericProfile(
            name=meta["name"],
            rows=int(meta["rows"]),
            nulls=int(meta["nulls"]),
            infinities=int(meta["infinities"]),
            count=int(meta["count"]),
            mean=_float(meta["mean"]),
            std=_float(meta["std"]),
            sketch=array("sketch", np.float64),
            discrete=bool(meta["discrete"]),
            edges=array("edges", np.float64),
            counts=array("counts", np.int64),
            chart_edges=array("chart_edges", np.float64),
            chart_counts=array("chart_counts", np.int64),
        )
    if meta["kind"] == Kind.categorical.value:
        return CategoricalProfile(
            name=meta["name"],
            rows=int(meta["rows"]),
            nulls=int(meta["nulls"]),
            categories=[str(label) for label in meta["categories"]],
            counts=array("counts", np.int64),
            other=int(meta["other"]),
        )
    raise ValueError(f"column kind {meta['kind']!r}")


def _float(value: Any) -> float:
    """JSON has no NaN: the header stores it as null."""
    return float("nan") if value is None else float(value)
