from __future__ import annotations

import pytest
from sqlalchemy import text

from mlpy.audit import AuditLog


@pytest.fixture
def log(store_url: str) -> AuditLog:
    return AuditLog(store_url)


def tamper(log: AuditLog, sql: str, **params: object) -> None:
    """Change the tables directly, as someone with database access (not mlpy) would."""
    with log.store.engine.begin() as connection:
        connection.execute(text(sql), params)


def fill(log: AuditLog, count: int) -> None:
    for number in range(1, count + 1):
        log.append(
            "registry.promote",
            "credit@production",
            actor="ana",
            from_value=number - 1,
            to_value=number,
            reason=f"promotion {number}",
            detail={"number": number},
        )
