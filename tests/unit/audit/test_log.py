"""The log on a real store (SQLite and PostgreSQL): appends, filters, and tampering done in SQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from mlpy.audit import (
    AuditLog,
    InvalidEntryError,
    InvalidQueryError,
    MissingHeadError,
    acting_as,
    verify_export,
)
from mlpy.store import utcnow
from tests.unit.audit.conftest import fill, tamper


def test_entries_chain_from_the_genesis_hash(log: AuditLog) -> None:
    fill(log, 3)
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == "0" * 64
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert entries[1].detail == {"number": 2}
    assert (entries[1].from_value, entries[1].to_value, entries[1].reason) == ("1", "2", "promotion 2")
    assert log.head() == (3, entries[-1].hash)
    result = log.verify()
    assert (result.ok, result.entries, result.head_hash) == (True, 3, entries[-1].hash)


def test_filters_by_subject_action_time_and_limit(log: AuditLog) -> None:
    log.append("registry.register", "credit", to_value=1)
    log.append("registry.promote", "credit@production", to_value=1)
    log.append("registry.register", "credit_v2", to_value=1)
    log.append("experiment.weights", "experiment/shop/ab", to_value="a=1 b=0")
    assert [e.seq for e in log.entries(subject="credit")] == [1, 2]
    assert [e.seq for e in log.entries(subject="credit@production")] == [2]
    # "_" is a name character here, not a wildcard.
    assert [e.seq for e in log.entries(subject="credit_v2")] == [3]
    assert [e.seq for e in log.entries(subject="experiment")] == [4]
    assert [e.seq for e in log.entries(action="registry")] == [1, 2, 3]
    assert [e.seq for e in log.entries(action="registry.promote")] == [2]
    assert [e.seq for e in log.entries(limit=2)] == [3, 4]
    now = utcnow()
    assert log.entries(since=now + timedelta(minutes=1)) == []
    assert len(log.entries(since=now - timedelta(minutes=1), until=now + timedelta(minutes=1))) == 4
    assert len(log.entries(since=(now - timedelta(days=1)).date().isoformat())) == 4


@pytest.mark.parametrize(
    ("since", "until", "problem"),
    [
        ("yesterday", None, "--since 'yesterday' is not an ISO 8601"),
        (None, "12/01/2026", "--until"),
        ("2026-12-02", "2026-12-01", "must be after --since"),
    ],
)
def test_bad_times_are_refused_by_name(
    log: AuditLog, since: str | None, until: str | None, problem: str
) -> None:
    with pytest.raises(InvalidQueryError, match=problem):
        log.entries(since=since, until=until)


def test_entries_the_log_cannot_keep_are_refused(log: AuditLog) -> None:
    with pytest.raises(InvalidEntryError, match="action has 1 to 64"):
        log.append("x" * 65, "credit")
    with pytest.raises(InvalidEntryError, match="plain JSON"):
        log.append("registry.register", "credit", detail={"bad": float("inf")})
    assert log.entries() == []
    assert log.verify().ok


def test_verify_names_an_entry_edited_in_the_database(log: AuditLog) -> None:
    fill(log, 5)
    tamper(log, "UPDATE audit_log SET to_value = '99' WHERE seq = 3")
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 3, 2)
    assert "edited" in (result.problem or "")


def test_verify_names_an_entry_deleted_from_the_database(log: AuditLog) -> None:
    fill(log, 5)
    tamper(log, "DELETE FROM audit_log WHERE seq = 2")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "entry 2 is missing" in (result.problem or "")


def test_verify_finds_the_newest_entry_deleted(log: AuditLog) -> None:
    fill(log, 4)
    tamper(log, "DELETE FROM audit_log WHERE seq = 4")
    assert log.verify().first_bad_seq == 4


def test_verify_finds_entries_swapped_in_the_database(log: AuditLog) -> None:
    fill(log, 4)
    tamper(log, "UPDATE audit_log SET seq = 100 WHERE seq = 2")
    tamper(log, "UPDATE audit_log SET seq = 2 WHERE seq = 3")
    tamper(log, "UPDATE audit_log SET seq = 3 WHERE seq = 100")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_verify_reports_a_deleted_head(log: AuditLog) -> None:
    fill(log, 2)
    tamper(log, "DELETE FROM audit_head")
    result = log.verify()
    assert not result.ok
    assert "no head row" in (result.problem or "")
    with pytest.raises(MissingHeadError, match="no head row"):
        log.append("registry.register", "credit")


def test_a_jsonl_export_is_the_chain_itself(log: AuditLog, tmp_path: Path) -> None:
    fill(log, 3)
    out = io.StringIO()
    assert log.export(out, fmt="jsonl") == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    # The exported copy verifies on its own: its fields rebuild every hash.
    whole = tmp_path / "whole.jsonl"
    whole.write_text(out.getvalue())
    assert verify_export(whole).ok
    assert verify_export(whole).head_hash == log.head()[1]
    lines[1]["reason"] = "changed in the copy"
    whole.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert verify_export(whole).first_bad_seq == 2
    path = tmp_path / "audit.jsonl"
    assert log.export(path, fmt="jsonl", since=utcnow() + timedelta(minutes=1)) == 0
    assert path.read_text() == ""


def test_a_csv_export_has_one_row_per_entry(log: AuditLog, tmp_path: Path) -> None:
    fill(log, 2)
    path = tmp_path / "audit.csv"
    assert log.export(path, fmt="csv") == 2
    rows = list(csv.DictReader(path.open()))
    assert [row["seq"] for row in rows] == ["1", "2"]
    assert (rows[1]["from"], rows[1]["to"], rows[1]["reason"]) == ("1", "2", "promotion 2")
    assert json.loads(rows[1]["detail"]) == {"number": 2}
    assert rows[1]["prev_hash"] == rows[0]["hash"]


def test_an_unknown_export_format_writes_nothing(log: AuditLog, tmp_path: Path) -> None:
    with pytest.raises(InvalidQueryError, match="unknown export format 'xml'"):
        log.export(tmp_path / "audit.xml", fmt="xml")
    assert not (tmp_path / "audit.xml").exists()


def test_an_acting_as_block_names_the_actor_of_what_it_appends(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPY_USER", "ci-job")
    log.append("test.write", "a")
    with acting_as("ops (API key)"):
        log.append("test.write", "b")
        log.append("test.write", "c", actor="explicit")
        with acting_as("router guardrail"):
            log.append("test.write", "d")
        log.append("test.write", "e")
    log.append("test.write", "f")
    assert [e.actor for e in log.entries()] == [
        "ci-job",
        "ops (API key)",
        "explicit",
        "router guardrail",
        "ops (API key)",
        "ci-job",
    ]
