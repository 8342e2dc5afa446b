"""The canonical form and the chain check, without a database: what each kind of tampering looks like."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mlpy.audit import GENESIS, AuditEntry, InvalidEntryError, canonical, check_chain, check_copy

AT = datetime(2026, 12, 2, 9, 30, 0, 123456, tzinfo=UTC)


def sealed(entry: AuditEntry) -> AuditEntry:
    return replace(entry, hash=entry.computed_hash())


def chain(length: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    previous = GENESIS
    for seq in range(1, length + 1):
        entry = sealed(
            AuditEntry(
                seq,
                AT + timedelta(seconds=seq),
                "ana",
                "registry.promote",
                "credit@production",
                str(seq - 1) if seq > 1 else None,
                str(seq),
                f"step {seq}",
                {"n": seq},
                previous,
                "",
            )
        )
        entries.append(entry)
        previous = entry.hash
    return entries


def test_the_canonical_form_is_sorted_compact_utf8_json() -> None:
    assert canonical({"b": 1, "a": ["é", None, 1.5]}) == '{"a":["é",null,1.5],"b":1}'.encode()


def test_an_entry_hash_is_the_sha256_of_its_canonical_fields() -> None:
    entry = AuditEntry(7, AT, "ana", "registry.register", "credit", None, "3", None, {"k": 1}, GENESIS, "")
    text = (
        '{"action":"registry.register","actor":"ana","at":"2026-12-02T09:30:00.123456+00:00",'
        '"detail":{"k":1},"from":null,"prev_hash":"' + GENESIS + '","reason":null,"seq":7,'
        '"subject":"credit","to":"3"}'
    )
    assert entry.computed_hash() == hashlib.sha256(text.encode()).hexdigest()


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    entry = chain(1)[0]
    elsewhere = replace(entry, at=entry.at.astimezone(timezone(timedelta(hours=5))))
    assert elsewhere.computed_hash() == entry.hash


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 2},
        {"at": AT + timedelta(microseconds=1)},
        {"actor": "eve"},
        {"action": "registry.rollback"},
        {"subject": "credit@staging"},
        {"from_value": "9"},
        {"to_value": "9"},
        {"reason": "changed"},
        {"detail": {"n": 2}},
        {"prev_hash": "f" * 64},
    ],
)
def test_every_field_is_covered_by_the_hash(change: dict[str, object]) -> None:
    entry = chain(1)[0]
    assert replace(entry, **change).computed_hash() != entry.hash  # type: ignore[arg-type]


def test_values_without_a_json_form_are_refused() -> None:
    with pytest.raises(InvalidEntryError, match="plain JSON"):
        canonical({"x": float("nan")})
    with pytest.raises(InvalidEntryError, match="plain JSON"):
        canonical({"x": object()})
    with pytest.raises(InvalidEntryError, match="timezone-aware"):
        replace(chain(1)[0], at=datetime(2026, 1, 1)).computed_hash()


def test_an_intact_chain_verifies() -> None:
    entries = chain(5)
    result = check_chain(entries, 5, entries[-1].hash)
    assert result.ok
    assert (result.entries, result.first_bad_seq, result.problem) == (5, None, None)


def test_an_edited_entry_is_named() -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], reason="nothing to see")
    result = check_chain(entries, 5, entries[-1].hash)
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 3, 2)
    assert "edited" in (result.problem or "")


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link() -> None:
    entries = chain(5)
    entries[2] = sealed(replace(entries[2], reason="nothing to see"))
    result = check_chain(entries, 5, entries[-1].hash)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "does not follow entry 3" in (result.problem or "")


def test_a_deleted_entry_is_named() -> None:
    entries = chain(5)
    del entries[1]
    result = check_chain(entries, 5, entries[-1].hash)
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "entry 2 is missing" in (result.problem or "")


def test_deleting_the_newest_entries_is_found_by_the_head() -> None:
    entries = chain(5)
    result = check_chain(entries[:3], 5, entries[-1].hash)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "head is entry 5" in (result.problem or "")


def test_a_replaced_newest_entry_is_found_by_the_head() -> None:
    entries = chain(5)
    head = entries[-1].hash
    entries[-1] = sealed(replace(entries[-1], to_value="666"))
    result = check_chain(entries, 5, head)
    assert (result.ok, result.first_bad_seq) == (False, 5)


def test_reordered_entries_are_found() -> None:
    entries = chain(5)
    # Swap the contents of entries 2 and 3, keeping each position's number (as a swap of rows' seq does).
    second, third = entries[1], entries[2]
    entries[1] = replace(third, seq=2)
    entries[2] = replace(second, seq=3)
    result = check_chain(entries, 5, entries[-1].hash)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_an_empty_log_verifies_against_the_genesis_head() -> None:
    assert check_chain([], 0, GENESIS).ok
    assert not check_chain([], 0, "1" * 64).ok


def test_a_copy_of_a_period_checks_every_link_inside_it() -> None:
    entries = chain(6)
    result = check_copy(entries[2:5])
    assert (result.ok, result.entries, result.head_seq, result.head_hash) == (True, 3, 5, entries[4].hash)
    edited = [*entries[2:4], replace(entries[4], actor="eve")]
    assert check_copy(edited).first_bad_seq == 5
    assert check_copy([entries[2], entries[4]]).first_bad_seq == 4
    assert check_copy([]).ok
