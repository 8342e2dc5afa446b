"""Write docs/http-api.md from the server's own OpenAPI, so the HTTP reference never drifts from the code.

python scripts/api_reference.py            # rewrite docs/http-api.md
python scripts/api_reference.py --check    # exit 1 when docs/http-api.md is out of date (run by the tests)

Both modes are built with the real ``create_app``: serving mode, and router mode from a throwaway
experiment file (nothing is loaded and nothing is contacted: the apps are never started). Every fact
comes from the OpenAPI documents or the server's code: the role from each operation's security
requirement, examples from schemas.py, error codes from errors.py. An operation without a summary,
or with a request body but no example, is an error here rather than a gap in the reference.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "http-api.md"
sys.path.insert(0, str(REPO / "server"))
sys.path.insert(0, str(REPO / "scripts"))  # schema_text, also when a test loads this file by path

from generated_doc import write_or_check  # noqa: E402
from schema_text import bounds, table_row  # noqa: E402

from mlpy_server import ServerSettings, create_app  # noqa: E402
from mlpy_server.auth import GRANTS, Permission  # noqa: E402
from mlpy_server.errors import InvalidInputError, ServerConfigError, ServerError  # noqa: E402
from mlpy_server.ids import _SAFE as REQUEST_ID_PATTERN  # noqa: E402
from mlpy_server.scope import error_body  # noqa: E402

MODES = ("serving", "router")
METHODS = ("get", "post", "put", "delete", "patch")
OPEN = "open"
# Raised at start-up (a bad setting): never seen in a response.
NOT_IN_RESPONSES: tuple[type[ServerError], ...] = (ServerConfigError,)
# Only its shape matters to create_app: the router-mode routes do not depend on the experiment.
_EXPERIMENT = {
    "name": "reference",
    "spec": {
        "strategy": "weighted",
        "metric": {"name": "converted", "goal": "maximize", "type": "proportion"},
        "variants": [
            {"name": "A", "weight": 50, "upstream": "http://variant-a.invalid:8080"},
            {"name": "B", "weight": 50, "upstream": "http://variant-b.invalid:8080"},
        ],
    },
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    modes: tuple[str, ...]
    spec: dict[str, Any]

    @property
    def title(self) -> str:
        suffix = "" if len(self.modes) == len(MODES) else f" ({self.modes[0]} mode)"
        return f"`{self.method.upper()} {self.path}`{suffix}"


def openapi_documents() -> dict[str, dict[str, Any]]:
    """The OpenAPI document of each mode, built by the server's own factory."""
    with tempfile.TemporaryDirectory() as tmp:
        experiment = Path(tmp) / "experiment.json"
        experiment.write_text(json.dumps(_EXPERIMENT))
        settings = {"serving": ServerSettings(), "router": ServerSettings(experiment=str(experiment))}
        return {mode: create_app(settings[mode]).api.openapi() for mode in MODES}


def operations(documents: dict[str, dict[str, Any]]) -> list[Operation]:
    """Every operation of either mode in path order; one entry when both modes have the same one."""
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for mode in MODES:
        for path, item in documents[mode]["paths"].items():
            for method, spec in item.items():
                if method in METHODS:
                    found.setdefault((path, method), {})[mode] = spec
    result = []
    for (path, method), by_mode in sorted(found.items(), key=lambda kv: (kv[0][0], METHODS.index(kv[0][1]))):
        specs = list(by_mode.values())
        if len(by_mode) == len(MODES) and all(spec == specs[0] for spec in specs):
            result.append(Operation(method, path, MODES, specs[0]))
        else:
            result.extend(Operation(method, path, (mode,), spec) for mode, spec in by_mode.items())
    return result


def components(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The schemas and security schemes of both modes (a name means the same thing in both)."""
    merged: dict[str, dict[str, Any]] = {"schemas": {}, "securitySchemes": {}}
    for mode in MODES:
        for kind, values in merged.items():
            for name, value in documents[mode].get("components", {}).get(kind, {}).items():
                if values.setdefault(name, value) != value:
                    raise SystemExit(f"components.{kind}.{name} differs between the modes")
    return merged


def role(operation: Operation) -> str:
    """The permission the operation needs: the role names of its OpenAPI security requirement."""
    requirements = operation.spec.get("security")
    if not requirements:
        return OPEN
    names = sorted({name for requirement in requirements for roles in requirement.values() for name in roles})
    if len(names) != 1:
        raise SystemExit(f"{operation.title}: its security requirement names {names}, not one role")
    return str(Permission(names[0]))


def granted_by(permission: str) -> list[str]:
    return sorted(str(r) for r, grants in GRANTS.items() if Permission(permission) in grants)


class Schemas:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if ref is None:
            return schema
        resolved: dict[str, Any] = self.schemas[ref.rsplit("/", 1)[-1]]
        return resolved

    def type(self, schema: dict[str, Any]) -> str:
        schema = self.resolve(schema)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                kinds = [self.type(option) for option in schema[key]]
                named = [kind for kind in kinds if kind != "null"]
                text = " or ".join(dict.fromkeys(named))
                return text + " or null" if len(named) < len(kinds) else text
        kind = schema.get("type")
        if isinstance(kind, list):
            return " or ".join(str(k) for k in kind)
        if kind == "array":
            items = schema.get("items") or {}
            return f"array of {self.inner(items)}" if items else "array"
        if kind == "object" or "properties" in schema:
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:
                return f"object of {self.inner(values)}"
            return "object"
        return str(kind) if kind else "any"

    def inner(self, schema: dict[str, Any]) -> str:
        """The type of an array's items or an object's values, in parentheses when it has alternatives."""
        text = self.type(schema)
        return f"({text})" if " or " in text else text

    def description(self, schema: dict[str, Any]) -> str:
        schema = self.resolve(schema)
        text = str(schema.get("description", ""))
        rules = _rules(schema)
        if rules:
            text = f"{text} ({rules})" if text else rules
        return " ".join(text.split())

    def rows(self, schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
        schema = self.resolve(schema)
        required = set(schema.get("required", []))
        for name, raw in (schema.get("properties") or {}).items():
            child = self.resolve(raw)
            path = f"{prefix}{name}"
            yield f"`{path}`", self.type(child), "yes" if name in required else "", self.description(child)
            nested = self.resolve(child.get("items") or {}) if child.get("type") == "array" else child
            if nested.get("properties"):
                yield from self.rows(nested, path + ("[]." if child.get("type") == "array" else "."))

    def table(self, schema: dict[str, Any]) -> list[str]:
        rows = list(self.rows(schema))
        if not rows:
            return []
        lines = ["| field | type | required | description |", "|---|---|---|---|"]
        return lines + [table_row(row) for row in rows] + [""]


def _rules(schema: dict[str, Any]) -> str:
    return "; ".join(bounds(schema))


def _json(value: Any) -> list[str]:
    """A fenced JSON block: on one line when it fits, else indented."""
    text = json.dumps(value, sort_keys=True)
    if len(text) > 100:
        text = json.dumps(value, indent=2, sort_keys=True)
    return ["```json", text, "```", ""]


def request_example(operation: Operation, schemas: Schemas) -> Any:
    """The example of the operation's JSON request body, from the media type or its schema."""
    media = operation.spec["requestBody"]["content"]["application/json"]
    for holder in (media, schemas.resolve(media.get("schema", {}))):
        if "example" in holder:
            return holder["example"]
        if holder.get("examples"):
            examples = holder["examples"]
            return examples[0] if isinstance(examples, list) else next(iter(examples.values()))["value"]
    raise SystemExit(
        f"{operation.title} takes a request body but has no example: add one to its schema in "
        "server/mlpy_server/schemas.py"
    )


def slug(title: str, seen: dict[str, int]) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens, numbered."""
    base = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}-{count}"


def render_operation(operation: Operation, schemas: Schemas) -> list[str]:
    spec = operation.spec
    if not spec.get("summary"):
        raise SystemExit(f"{operation.title} has no summary: give its route summary=")
    needed = role(operation)
    if needed == OPEN:
        who = "open (no credential needed)"
    else:
        who = f"`{needed}` (a key or token with role {' or '.join(f'`{r}`' for r in granted_by(needed))})"
    mode = " and ".join(operation.modes) + (" modes" if len(operation.modes) > 1 else " mode")
    lines = [f"### {operation.title}", "", f"**{spec['summary']}.**"]
    if spec.get("description"):
        lines += ["", spec["description"].strip()]
    lines += ["", f"- Role: {who}", f"- Mode: {mode}"]
    parameters = [p for p in spec.get("parameters", []) if p.get("in") == "path"]
    if parameters:
        names = ", ".join(f"`{p['name']}` ({schemas.type(p.get('schema', {}))})" for p in parameters)
        lines.append(f"- Path parameters: {names}")
    lines.append("")
    if "requestBody" in spec:
        body = spec["requestBody"]
        content = body["content"]
        kinds = ", ".join(f"`{kind}`" for kind in sorted(content))
        required = "required" if body.get("required") else "optional"
        lines += [f"Request body ({kinds}, {required}):", ""]
        lines += schemas.table(content["application/json"].get("schema", {}))
        lines += ["Example request:", "", *_json(request_example(operation, schemas))]
    lines += ["Responses:", "", "| status | body | description |", "|---|---|---|"]
    success: list[tuple[str, dict[str, Any]]] = []
    for status, response in sorted(spec.get("responses", {}).items(), key=lambda kv: kv[0]):
        content = response.get("content") or {}
        cells = []
        for kind, media in sorted(content.items()):
            schema = media.get("schema") or {}
            if schema.get("$ref", "").endswith("/ErrorResponse"):
                cells.append("[error body](#errors)")
                continue
            shape = schema.get("$ref", "").rsplit("/", 1)[-1] or schemas.type(schema)
            cells.append(f"`{kind}`" + (f": {shape}" if schema else ""))
            if status.startswith("2") and schemas.resolve(schema).get("properties"):
                success.append((status, schema))
        description = " ".join(response.get("description", "").split())
        lines.append(table_row([status, ", ".join(cells) or "none", description]))
    lines.append("")
    for status, schema in success:
        lines += [f"{status} body:", "", *schemas.table(schema)]
    return lines


def render_header(documents: dict[str, dict[str, Any]], merged: dict[str, Any]) -> list[str]:
    info = documents["serving"]["info"]
    defaults = ServerSettings()
    schemes = merged["securitySchemes"]
    lines = [
        "# HTTP API reference",
        "",
        "Generated from the server's OpenAPI (serving and router mode) by `python scripts/api_reference.py`; "
        "a test fails when it is out of date, and another posts every example request below to a real "
        "server. The guide to running the server is [server.md](server.md).",
        "",
        f"## {info['title']}",
        "",
        info.get("description", "").strip(),
        "",
        "The live documents are at `GET /openapi.json` and `GET /docs` on every server.",
        "",
        "## Modes",
        "",
        "A server runs in one of two modes. Serving mode (the default) serves its own models. Router mode "
        "(`mlpy serve --experiment`, `MLPY_EXPERIMENT`) serves no model: it forwards predictions to the "
        "variants of an experiment and adds the experiment's own operations. An operation below says which "
        "modes have it.",
        "",
        "## Authentication",
        "",
        "Each operation names the role it needs. Send a credential in either header:",
        "",
    ]
    for name, scheme in sorted(schemes.items()):
        if scheme.get("type") == "apiKey":
            header = f"`{scheme['name']}: <key>`"
        else:
            header = f"`Authorization: {str(scheme.get('scheme', '')).capitalize()} <key or token>`"
        lines.append(f"- {header}: {scheme.get('description', name)}.")
    lines += [
        "",
        "API keys are configured as `name:role:sha256hex` in `MLPY_API_KEYS`. A JWT (signed with "
        "`MLPY_JWT_SECRET` or `MLPY_JWT_PUBLIC_KEY`) must carry `exp` and its role in the "
        f"`{defaults.jwt_role_claim}` claim (`MLPY_JWT_ROLE_CLAIM`). What each role may call:",
        "",
        "| role of the key or token | operations it may call |",
        "|---|---|",
    ]
    for granted, permissions in sorted(GRANTS.items()):
        lines.append(f"| `{granted}` | {', '.join(f'`{p}`' for p in sorted(permissions))} |")
    lines += [
        "",
        "`open` operations need no credential. With no credential configured at all, `predict` and `read` "
        "operations are open too and `admin` ones are refused (403). Otherwise a missing, unknown or "
        "expired credential gets 401 and a role that does not allow the call 403.",
        "",
        "## Requests and responses",
        "",
        "- Request bodies are JSON of at most "
        f"{defaults.max_body_bytes // (1024 * 1024)} MiB (`MLPY_MAX_BODY_BYTES`); a batch holds at most "
        f"{defaults.max_batch_rows:,} rows (`MLPY_MAX_BATCH_ROWS`). Every JSON endpoint reads the body as "
        "JSON whatever its `Content-Type` says (`curl -d` sends a form type), and answers 400 when it is not "
        "JSON; a body over the limit is a 413, chunked or not.",
        "- Responses are JSON, except where an operation says otherwise (`/metrics`).",
        "- `X-Request-ID`: every response carries one. A caller may send its own, matching "
        f"`{REQUEST_ID_PATTERN.pattern}`; otherwise the server makes one. It is also in the response "
        "body, the logs and the prediction log.",
        "- Router mode: the response to a forwarded call names the variant that served it in "
        "`X-Mlpy-Variant`; `X-Unit-ID` makes the assignment sticky.",
        "",
    ]
    return lines


def render_errors(schemas: Schemas) -> list[str]:
    example = json.loads(
        error_body(
            InvalidInputError("field 'features': the model has no feature 'agee'", field="features"),
            "9f1c0a7e42b1000000002a",
        )
    )
    lines = ["## Errors", "", str(schemas.schemas["ErrorResponse"].get("description", "")), ""]
    lines += schemas.table({"$ref": "#/components/schemas/ErrorResponse"})
    lines += ["Example error:", "", *_json(example)]
    lines += ["| status | code | when |", "|---|---|---|"]
    found = []
    pending: list[type[ServerError]] = [ServerError]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if kind is not ServerError and not issubclass(kind, NOT_IN_RESPONSES):
            found.append((kind.status, kind.code, " ".join((kind.__doc__ or "").split())))
    lines += [table_row([str(status), f"`{code}`", when]) for status, code, when in sorted(found)]
    return [*lines, ""]


def render(documents: dict[str, dict[str, Any]] | None = None) -> str:
    documents = documents or openapi_documents()
    merged = components(documents)
    schemas = Schemas(merged["schemas"])
    listed = operations(documents)
    lines = render_header(documents, merged)
    seen: dict[str, int] = {}
    anchors = [slug(operation.title, seen) for operation in listed]
    lines += [
        "## Operations",
        "",
        "| operation | role | modes | summary |",
        "|---|---|---|---|",
    ]
    for operation, anchor in zip(listed, anchors, strict=True):
        link = f"[{operation.title}](#{anchor})"
        modes = ", ".join(operation.modes)
        lines.append(table_row([link, role(operation), modes, operation.spec["summary"]]))
    lines.append("")
    for operation in listed:
        lines += render_operation(operation, schemas)
    lines += render_errors(schemas)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit(write_or_check(TARGET, render))
