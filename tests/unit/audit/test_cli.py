"""``mlpy audit list``, ``verify`` and ``export``: output, exit codes and one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mlpy.audit import AuditLog
from mlpy.cli.main import main
from tests.unit.audit.conftest import fill, tamper


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def log(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AuditLog:
    monkeypatch.setenv("MLPY_STORE", sqlite_url)
    log = AuditLog(sqlite_url)
    fill(log, 3)
    log.append("registry.register", "other", to_value=1)
    return log


def test_list_filters_and_prints_json(capsys: pytest.CaptureFixture[str], log: AuditLog) -> None:
    code, out, _ = run(capsys, "audit", "list", "--subject", "credit", "--limit", "2", "-o", "json")
    assert code == 0
    items = json.loads(out)["items"]
    assert [(i["seq"], i["to"], i["reason"]) for i in items] == [
        (2, "2", "promotion 2"),
        (3, "3", "promotion 3"),
    ]
    code, out, _ = run(capsys, "audit", "list", "--action", "registry.register")
    assert code == 0
    assert "other" in out
    assert "promotion" not in out


def test_the_store_option_names_the_log(
    capsys: pytest.CaptureFixture[str], log: AuditLog, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "audit", "--store", f"sqlite:///{tmp_path / 'empty.db'}", "list", "-o", "json")
    assert code == 0
    assert json.loads(out) == {"items": []}


def test_verify_passes_then_names_the_tampered_entry(
    capsys: pytest.CaptureFixture[str], log: AuditLog
) -> None:
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0
    assert out.startswith("ok: 4 entries, head 4 sha256 ")
    tamper(log, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    code, out, err = run(capsys, "audit", "verify")
    assert code == 3
    assert err.strip() == "error: audit log broken at entry 2: entry 2 does not match its hash: it was edited"
    code, out, _ = run(capsys, "audit", "verify", "-o", "json")
    assert code == 3
    assert json.loads(out)["first_bad_seq"] == 2


def test_export_to_stdout_and_to_a_file(
    capsys: pytest.CaptureFixture[str], log: AuditLog, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "audit", "export", "--since", "2000-01-01", "--format", "jsonl")
    assert code == 0
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [1, 2, 3, 4]
    target = tmp_path / "audit.csv"
    code, out, err = run(
        capsys, "audit", "export", "--format", "csv", "--output", str(target), "--action", "registry.promote"
    )
    assert code == 0
    assert out == ""
    assert err.strip() == f"exported 3 entries to {target}"
    assert [row["seq"] for row in csv.DictReader(io.StringIO(target.read_text()))] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["export", "--since", "last tuesday"],
            "error: --since 'last tuesday' is not an ISO 8601 date or time",
        ),
        (["export", "--until", "2026-13-01"], "error: --until '2026-13-01' is not an ISO 8601 date or time"),
        (["export", "--format", "xml"], "error: unknown --format 'xml' (use one of jsonl, csv)"),
        (["list", "--since", "2026-12-02", "--until", "2026-12-01"], "must be after --since"),
        (["list", "--limit", "0"], "error: limit must be at least 1, got 0"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], log: AuditLog, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "audit", *args)
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "audit" in out
    for command in ("list", "verify", "export"):
        code, out, _ = run(capsys, "audit", command, "--help")
        assert code == 0, command
        assert "Usage" in out, command


def test_verify_checks_an_export_without_the_store(
    capsys: pytest.CaptureFixture[str], log: AuditLog, tmp_path: Path
) -> None:
    copy = tmp_path / "audit.jsonl"
    assert run(capsys, "audit", "export", "--output", str(copy))[0] == 0
    code, out, _ = run(capsys, "audit", "verify", "--file", str(copy))
    assert code == 0
    assert out.startswith(f"ok: 4 entries, head 4 sha256 {log.head()[1]}")
    copy.write_text(copy.read_text().replace('"actor": "ana"', '"actor": "eve"', 1))
    code, _, err = run(capsys, "audit", "verify", "--file", str(copy))
    assert code == 3
    assert "broken at entry 1" in err
    copy.write_text("not json\n")
    code, _, err = run(capsys, "audit", "verify", "--file", str(copy))
    assert code == 1
    assert err.startswith(f"error: line 1 of {copy} is not an exported audit entry")
    assert len(err.strip().splitlines()) == 1
