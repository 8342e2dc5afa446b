"""Reading windows: formats, compression, file:// paths, column selection, and what a bad file says."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from mlpy.drift import DriftProfile
from mlpy.drift.errors import DataReadError, SchemaMismatchError
from mlpy.drift.sources import ColumnSource, read_table


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.5, 2.5, None, 4.0], "city": ["a", None, "b", "a"], "n": [1, 2, 3, 4]})


def test_csv_tsv_gzip_and_parquet_read_the_same(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "w.csv", index=False)
    frame.to_csv(tmp_path / "w.tsv", index=False, sep="\t")
    (tmp_path / "w.csv.gz").write_bytes(gzip.compress((tmp_path / "w.csv").read_bytes()))
    frame.to_parquet(tmp_path / "w.parquet")
    expected = read_table(tmp_path / "w.parquet").to_pandas()
    for name in ("w.csv", "w.tsv", "w.csv.gz", "w.parquet"):
        table = read_table(tmp_path / name)
        pd.testing.assert_frame_equal(table.to_pandas(), expected, check_dtype=False)
    assert read_table(f"file://{tmp_path / 'w.csv'}", ["city"]).column_names == ["city"]


def test_parquet_columns_are_read_one_at_a_time(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_parquet(tmp_path / "w.parquet")
    source = ColumnSource(tmp_path / "w.parquet", None)
    assert source.names == ["x", "city", "n"]
    assert source.num_rows == 4
    assert source.column("city").to_pylist() == ["a", None, "b", "a"]
    with pytest.raises(SchemaMismatchError, match="lacks column"):
        ColumnSource(tmp_path / "w.parquet", ["x", "zzz"])


def test_profile_from_file_equals_profile_from_data(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_parquet(tmp_path / "w.parquet")
    from_file = DriftProfile.from_file(tmp_path / "w.parquet")
    from_data = DriftProfile.from_data(frame)
    assert from_file.rows == from_data.rows == 4
    assert {k: v.kind for k, v in from_file.columns.items()} == {
        k: v.kind for k, v in from_data.columns.items()
    }
    assert from_file.source == str(tmp_path / "w.parquet")


def test_truncated_parquet_is_a_read_error(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_parquet(tmp_path / "w.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "w.parquet").read_bytes()[:50])
    with pytest.raises(DataReadError, match="cannot read parquet file"):
        ColumnSource(tmp_path / "cut.parquet", None)
    with pytest.raises(DataReadError, match="cannot read parquet file"):
        read_table(tmp_path / "cut.parquet")


def test_empty_csv_is_a_read_error(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataReadError, match="cannot read csv file"):
        read_table(tmp_path / "empty.csv")
