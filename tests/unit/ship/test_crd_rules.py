"""The CRDs reject bad input with a sentence: CEL rules with messages, never a bare ``pattern``.

The API server reports a failed ``pattern`` as the raw regular expression, which tells a user nothing;
an ``x-kubernetes-validations`` rule says what the field must be.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CRDS = sorted([*(REPO / "crds").glob("*.yaml"), *(REPO / "helm" / "mlpy" / "crds").glob("*.yaml")])


def schema_nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object under ``node``, with its path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from schema_nodes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from schema_nodes(value, f"{path}[{i}]")


def schemas(crd: Path) -> Iterator[dict[str, Any]]:
    for version in yaml.safe_load(crd.read_text())["spec"]["versions"]:
        yield version["schema"]["openAPIV3Schema"]


@pytest.mark.parametrize("crd", CRDS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_field_is_checked_by_a_raw_regular_expression(crd: Path) -> None:
    raw = [
        f"{path}.pattern: {node['pattern']}"  # a property named "pattern" is a dict, not a regex
        for schema in schemas(crd)
        for path, node in schema_nodes(schema)
        if isinstance(node.get("pattern"), str)
    ]
    assert not raw, "use an x-kubernetes-validations rule with a message instead:\n" + "\n".join(raw)


@pytest.mark.parametrize("crd", CRDS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_rule_says_what_is_wrong_in_words(crd: Path) -> None:
    silent = [
        f"{path}: {rule.get('rule')}"
        for schema in schemas(crd)
        for path, node in schema_nodes(schema)
        for rule in node.get("x-kubernetes-validations") or []
        if not (rule.get("message") or rule.get("messageExpression"))
    ]
    assert not silent, "each rule needs a message (or messageExpression):\n" + "\n".join(silent)


def test_sensitive_feature_names_are_checked_by_a_rule_with_a_message() -> None:
    (schema,) = schemas(REPO / "crds" / "modelversions.mlpy.io.yaml")
    serving = schema["properties"]["spec"]["properties"]["serving"]["properties"]
    items = serving["sensitiveFeatures"]["items"]
    (rule,) = items["x-kubernetes-validations"]
    found = re.fullmatch(r"self\.matches\(r'(?P<regex>.+)'\)", rule["rule"].strip())
    assert found, rule["rule"]
    accepts = [
        name for name in ("sex", "age_band", "Region.code-2", "x" * 64) if re.search(found["regex"], name)
    ]
    refuses = [name for name in ("1sex", "age band", "_x", "") if re.search(found["regex"], name)]
    assert (accepts, refuses) == (["sex", "age_band", "Region.code-2", "x" * 64], [])
    assert items["maxLength"] == 64
    assert "feature name" in rule["message"]
