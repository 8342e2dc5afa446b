"""Sensitive features: the group attributes (``sex``, ``age_band``) a version is monitored for fairness by.

Declared at registration and kept in a reserved tag, so the version's record says which attributes its
requests may carry; the model server accepts exactly these names beside the features, and fairness
reports group its labelled predictions by them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mlpy.registry.errors import InvalidInputError

SENSITIVE_FEATURES_TAG = "mlpy.fairness.groups"
GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


def check_sensitive_features(names: Iterable[str]) -> tuple[str, ...]:
    """Distinct attribute names in the order given; a name that cannot be a tag list item is refused."""
    checked: list[str] = []
    for name in names:
        if not isinstance(name, str) or not GROUP_NAME.match(name):
            raise InvalidInputError(
                f"invalid sensitive feature name {name!r}",
                hint="use 1-64 letters, digits, '_', '.' or '-', starting with a letter (e.g. age_band)",
            )
        if name in checked:
            raise InvalidInputError(f"sensitive feature {name!r} is declared twice")
        checked.append(name)
    return tuple(checked)


def sensitive_features_tag(names: Iterable[str]) -> dict[str, str]:
    """The reserved tag recording ``names`` (none when there are none)."""
    checked = check_sensitive_features(names)
    return {SENSITIVE_FEATURES_TAG: ",".join(checked)} if checked else {}


def sensitive_features(tags: Mapping[str, Any]) -> tuple[str, ...]:
    """The sensitive features a version's tags declare (none when the tag is absent or empty)."""
    value = tags.get(SENSITIVE_FEATURES_TAG)
    if not value:
        return ()
    return tuple(name for name in str(value).split(",") if name)
