from __future__ import annotations

import pytest

from mlpy.registry import InvalidInputError, parse_model_id, parse_ref
from mlpy.registry.names import VersionRef, check_alias, check_model_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", VersionRef(number=3)),
        ("v12", VersionRef(number=12)),
        (7, VersionRef(number=7)),
        ("@production", VersionRef(alias="production")),
        ("latest", VersionRef(alias="latest")),
        ("@latest", VersionRef(alias="latest")),
    ],
)
def test_parse_ref(text: str | int, expected: VersionRef) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize(
    # Superscript two, Arabic-Indic one, v + Arabic-Indic three, fullwidth one: digits, but not ASCII.
    "bad",
    ["0", "-1", "", "abc", "@", "@Bad Alias", 0, True, "1.5", "\u00b2", "\u0661", "v\u0663", "\uff11"],
)
def test_parse_ref_rejects(bad: str | int) -> None:
    with pytest.raises(InvalidInputError):
        parse_ref(bad)


def test_parse_model_id_forms() -> None:
    assert parse_model_id("iris") == ("iris", VersionRef(alias="production"))
    assert parse_model_id("iris:4") == ("iris", VersionRef(number=4))
    assert parse_model_id("iris@staging") == ("iris", VersionRef(alias="staging"))


@pytest.mark.parametrize("bad", ["", "-x", "a b", "x/y", "a" * 129, "é"])
def test_bad_model_names(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid model name"):
        check_model_name(bad)


def test_alias_latest_is_reserved() -> None:
    with pytest.raises(InvalidInputError, match="reserved"):
        check_alias("latest")
