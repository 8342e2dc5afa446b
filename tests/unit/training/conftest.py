"""The user's training package (tests/fixtures/trainpkg, outside mlpy) and its data as Parquet files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpy.demo.data import credit_data

FIXTURE_SRC = Path(__file__).resolve().parents[2] / "fixtures" / "trainpkg" / "src"


@pytest.fixture
def user_code(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture package importable, as an installed package or an image would make it."""
    monkeypatch.syspath_prepend(str(FIXTURE_SRC))
    return FIXTURE_SRC


@pytest.fixture
def credit_files(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "data"
    folder.mkdir()
    paths = {}
    for name, seed in (("train", 1), ("holdout", 2)):
        path = folder / f"{name}.parquet"
        credit_data(1_500, seed=seed).to_parquet(path)
        paths[name] = str(path)
    return paths
