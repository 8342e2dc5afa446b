"""Reading reference and current data: CSV and Parquet through pyarrow, only the columns needed.

Locations are local paths or URLs (``s3://...``, see :mod:`mlpy.drift.locations`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from mlpy.drift.errors import DataReadError, SchemaMismatchError
from mlpy.drift.locations import fetch, is_remote, local_path

T = TypeVar("T")

PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".csv.gz", ".csv.bz2", ".csv.zst"}


def file_format(location: str | Path) -> str:
    name = str(location).lower().rstrip("/")
    if any(name.endswith(suffix) for suffix in PARQUET_SUFFIXES):
        return "parquet"
    if any(name.endswith(suffix) for suffix in CSV_SUFFIXES):
        return "csv"
    raise DataReadError(
        f"cannot tell the format of {str(location)!r}",
        hint="name the file *.csv (or .csv.gz, .tsv) or *.parquet",
    )


Opener = Callable[[], Any]


def _opener(location: str | Path) -> Opener:
    """Something pyarrow can read, as often as needed: a local path, or the fetched bytes of a URL."""
    if is_remote(location):
        data = fetch(str(location))
        return lambda: pa.BufferReader(data)
    path = local_path(location)
    if not path.is_file():
        raise DataReadError(f"no such file: {str(location)!r}", hint="check the path")
    return lambda: str(path)


def read_table(location: str | Path, columns: Sequence[str] | None = None) -> pa.Table:
    """The file (a path or a URL) as an Arrow table; ``columns`` restricts what is read."""
    fmt = file_format(location)
    label = repr(str(location))
    opener = _opener(location)
    try:
        if fmt == "parquet":
            return _read_parquet(opener, columns, label)
        tsv = str(location).lower().endswith(".tsv")
        return _read_csv(opener, columns, label, tsv)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        raise DataReadError(
            f"cannot read {fmt} file {label}: {_first_line(exc)}",
            hint="check that the file is complete and really in that format",
        ) from exc


def _read_parquet(opener: Opener, columns: Sequence[str] | None, label: str) -> pa.Table:
    if columns is not None:
        _require(columns, set(pq.read_schema(opener()).names), label)
    return pq.read_table(opener(), columns=list(columns) if columns is not None else None)


def _read_csv(opener: Opener, columns: Sequence[str] | None, label: str, tsv: bool) -> pa.Table:
    parse = pa_csv.ParseOptions(delimiter="\t") if tsv else None
    convert: dict[str, Any] = {"strings_can_be_null": True}
    if columns is not None:
        header = list(pa_csv.open_csv(opener(), parse_options=parse).schema.names)
        _require(columns, set(header), label)
        convert["include_columns"] = list(columns)
    table = pa_csv.read_csv(opener(), parse_options=parse, convert_options=pa_csv.ConvertOptions(**convert))
    if table.num_columns == 0:
        raise DataReadError(f"{label} has no columns", hint="the first line must name the columns")
    return table


def _require(columns: Sequence[str], available: set[str], where: str) -> None:
    missing = [name for name in columns if name not in available]
    if missing:
        raise SchemaMismatchError(
            f"{where} lacks column(s) {', '.join(missing)}",
            hint="every checked column must be in both files; pass --features to check a subset",
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class ColumnSource:
    """Columns of a file or table, read one at a time when the format allows it.

    A local Parquet file is read column by column (and columns in parallel), so a check or a profile
    holds a column or two in memory instead of the whole file; CSV has no column index and is read once.
    ``names`` are the requested columns (all of them when none are requested).
    """

    def __init__(
        self, data: str | Path | pa.Table, columns: Sequence[str] | None, label: str = "the current window"
    ) -> None:
        self._table: pa.Table | None = None
        self._path: Path | None = None
        if isinstance(data, pa.Table) or is_remote(data) or file_format(data) == "csv":
            table = data if isinstance(data, pa.Table) else read_table(data, columns)
            self._table = table
            self.num_rows = table.num_rows
            available = list(table.column_names)
        else:
            path = local_path(data)
            if not path.is_file():
                raise DataReadError(f"no such file: {str(data)!r}", hint="check the path")
            try:
                self.num_rows = pq.read_metadata(path).num_rows
                available = list(pq.read_schema(path).names)
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataReadError(
                    f"cannot read parquet file {str(path)!r}: {_first_line(exc)}",
                    hint="check that the file is complete and really in that format",
                ) from exc
            self._path = path
            label = repr(str(data))
        if columns is not None:
            _require(columns, set(available), label)
        self.names = list(columns) if columns is not None else available

    def column(self, name: str) -> pa.ChunkedArray:
        if self._table is not None:
            return self._table.column(name)
        assert self._path is not None
        try:
            return pq.read_table(self._path, columns=[name]).column(0)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataReadError(
                f"cannot read column {name!r} of {str(self._path)!r}: {_first_line(exc)}",
                hint="check that the file is complete",
            ) from exc


def map_columns(
    names: Sequence[str], work: Callable[[str], T], progress: Callable[[str], None] | None = None
) -> dict[str, T]:
    """``work`` on every column, on threads (numpy sorts and Arrow reads release the GIL), in order."""
    done: dict[str, T] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(len(names), os.cpu_count() or 1))) as pool:
        futures = {pool.submit(work, name): name for name in names}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if progress is not None:
                progress(futures[future])
    return {name: done[name] for name in names}
