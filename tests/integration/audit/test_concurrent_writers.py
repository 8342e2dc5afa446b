"""Six processes append to one PostgreSQL log at once: the head row's lock leaves no gap and no fork."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.audit.writers import run_writers

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_six_postgres_writers_leave_one_unbroken_chain(postgres_url: str, tmp_path: Path) -> None:
    run_writers(postgres_url, tmp_path, writers=6, each=100)
