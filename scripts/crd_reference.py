"""Write docs/crds.md from the CRDs' schemas, so the reference never drifts from what the API server checks.

python scripts/crd_reference.py            # rewrite docs/crds.md
python scripts/crd_reference.py --check    # exit 1 when docs/crds.md is out of date (run by the tests)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from generated_doc import write_or_check
from schema_text import bounds, table_row

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "crds.md"


def _type(schema: dict[str, Any]) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "int or string"
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        return f"map of {_type(schema['additionalProperties'])}"
    return str(kind)


def _rules(schema: dict[str, Any]) -> str:
    parts = bounds(schema)
    if "pattern" in schema:
        parts.append(f"pattern `{schema['pattern']}`")
    if "default" in schema:
        parts.append(f"default `{schema['default']}`")
    for rule in schema.get("x-kubernetes-validations", []):
        parts.append(rule["message"])
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and _rules(values):
        parts.append(f"values: {_rules(values)}")
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict) and _rules(items):
        parts.append(f"each: {_rules(items)}")
    return "; ".join(parts)


def _rows(
    schema: dict[str, Any], prefix: str, required: set[str]
) -> Iterator[tuple[str, str, str, str, str]]:
    for name, child in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}"
        yield (
            path,
            _type(child),
            "yes" if name in required else "",
            _rules(child),
            " ".join(str(child.get("description", "")).split()),
        )
        nested = child.get("items", child) if child.get("type") == "array" else child
        if nested.get("properties"):
            yield from _rows(
                nested, path + ("[]" if child.get("type") == "array" else ""), set(nested.get("required", []))
            )


def render() -> str:
    lines = [
        "# Custom resource reference",
        "",
        "Generated from `crds/` by `python scripts/crd_reference.py`; a test fails when it is out of date.",
        "",
    ]
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names = crd["spec"]["names"]
        version = crd["spec"]["versions"][0]
        schema = version["schema"]["openAPIV3Schema"]
        lines += [
            f"## {names['kind']}",
            "",
            f"`{crd['spec']['group']}/{version['name']}`, "
            f"short name `{', '.join(names.get('shortNames', []))}`, "
            f"categories `{', '.join(names.get('categories', []))}`. {schema.get('description', '')}",
            "",
            "| field | type | required | validation and default | description |",
            "|---|---|---|---|---|",
        ]
        spec = schema["properties"]["spec"]
        for row in _rows(spec, "spec", set(spec.get("required", []))):
            lines.append(table_row(row))
        for rule in spec.get("x-kubernetes-validations", []):
            lines.append(f"\nAlso enforced: {rule['message']} (`{rule['rule']}`).")
        columns = ", ".join(c["name"] for c in version.get("additionalPrinterColumns", []))
        lines += ["", f"`kubectl get` columns: {columns}.", ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit(write_or_check(TARGET, render))
