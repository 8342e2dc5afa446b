"""Six processes append to one SQLite log at once (PostgreSQL: tests/integration/audit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.audit.writers import run_writers


@pytest.mark.slow
def test_six_sqlite_writers_leave_one_unbroken_chain(sqlite_url: str, tmp_path: Path) -> None:
    run_writers(sqlite_url, tmp_path, writers=6, each=60)
