"""docs/http-api.md tells the truth: its example requests work and its roles are the ones enforced.

Every ```json block after "Example request:" is posted to its operation on a real server holding a
real model (the fixture's ``lin``, features age, income and score), with a key of exactly the role the
reference names, and must get a 2xx. Router-mode examples go through a real router to a real variant.
Then every operation is called without a credential and with a role one short of the documented one.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key
from tests.unit.server.conftest import FEATURES, ThreadedServer

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "http-api.md"
HEADING = re.compile(r"^### `(?P<method>[A-Z]+) (?P<path>/[^`]*)`(?: \((?P<mode>serving|router) mode\))?$")
ROLE = re.compile(r"^- Role: `?(?P<role>\w+)`?")
KEYS = {role: f"key-for-{role}" for role in ("predict", "read", "admin")}
# A credential whose role lacks the permission (None: every role has it).
SHORT_OF = {"predict": "read", "read": None, "admin": "predict"}
PATH_VALUES = {"name": "lin", "model_id": "lin", "version": "1"}


@dataclass
class Documented:
    method: str
    path: str
    mode: str | None  # None: the same operation in both modes
    role: str = ""
    example: Any = None
    has_example: bool = False

    @property
    def where(self) -> str:
        modes = f"{self.mode} mode" if self.mode else "both modes"
        return f"{self.method} {self.path} ({modes}, role {self.role})"

    def url(self) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], self.path)


def documented_operations() -> list[Documented]:
    found: list[Documented] = []
    lines = DOC.read_text().splitlines()
    for number, line in enumerate(lines):
        if heading := HEADING.match(line):
            found.append(Documented(heading["method"], heading["path"], heading["mode"]))
        elif (role := ROLE.match(line)) and found:
            found[-1].role = role["role"]
        elif line == "Example request:":
            assert lines[number + 2] == "```json", f"line {number + 1}: no json block after it"
            end = lines.index("```", number + 3)
            found[-1].example = json.loads("\n".join(lines[number + 3 : end]))
            found[-1].has_example = True
    return found


def reference_module() -> ModuleType:
    """scripts/api_reference.py, which lists the operations from the server's OpenAPI."""
    name = "mlpy_scripts_api_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "api_reference.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclass looks its module up while being defined
        spec.loader.exec_module(module)
    return sys.modules[name]


def headers_for(role: str | None) -> dict[str, str]:
    return {} if role in {None, "open"} else {"X-API-Key": KEYS[str(role)]}


API_KEYS = tuple(f"{role}-client:{role}:{hash_key(key)}" for role, key in KEYS.items())


@pytest.fixture
def clients(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[[Any], ThreadedServer],
    tmp_path: Path,
) -> Iterator[dict[str, TestClient]]:
    """A server with ``lin`` and keys of every role; a router whose variants A and B reach a real server."""
    serving = make_client(api_keys=API_KEYS)
    variant = serve_app(create_app(make_settings(models=("lin",))))
    deadline = time.monotonic() + 20
    while httpx.get(f"{variant.url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the variant's server never became ready"
        time.sleep(0.05)
    experiment = tmp_path / "experiment.json"
    spec = {
        "strategy": "weighted",
        "metric": {"name": "error", "goal": "minimize", "type": "mean"},
        "variants": [{"name": name, "weight": 50, "upstream": variant.url} for name in ("A", "B")],
    }
    experiment.write_text(json.dumps({"name": "docs", "spec": spec}))
    router = TestClient(create_app(ServerSettings(experiment=str(experiment), api_keys=API_KEYS)))
    router.__enter__()
    yield {"serving": serving, "router": router}
    router.__exit__(None, None, None)


def test_every_example_request_is_accepted(clients: dict[str, TestClient]) -> None:
    documented = documented_operations()
    examples = [op for op in documented if op.has_example]
    reference = reference_module()
    with_body = [op for op in reference.operations(reference.openapi_documents()) if "requestBody" in op.spec]
    assert examples, "docs/http-api.md shows no example request"
    assert len(examples) == len(with_body) == DOC.read_text().count("\nExample request:\n")
    predicted = 0
    for op in examples:
        client = clients[op.mode or "serving"]
        body = op.example
        if op.mode == "router" and op.path == "/feedback":
            # A router credits only ids it issued (they name their variant): report on a real one.
            routed = client.post(
                "/predict", json={"features": [41, 52000, 0.7]}, headers=headers_for("predict")
            )
            body = {**body, "request_id": routed.json()["request_id"]}
        response = client.request(op.method, op.url(), json=body, headers=headers_for(op.role))
        where = op.where
        assert 200 <= response.status_code < 300, f"{where}: {response.status_code} {response.text}"
        answer = response.json()
        if "prediction" in answer or "predictions" in answer or "outputs" in answer:
            assert answer.get("model", answer.get("model_name")) == "lin", where
            predicted += 1
    # The examples name the fixture model's features, so they really reached the model.
    assert set(FEATURES) == {"age", "income", "score"}
    assert predicted == sum(1 for op in examples if "predict" in op.path or "infer" in op.path) > 0


def test_documented_roles_are_enforced(clients: dict[str, TestClient]) -> None:
    documented = documented_operations()
    reference = reference_module()
    assert len(documented) == len(reference.operations(reference.openapi_documents())) > 0
    for op in documented:
        client = clients[op.mode or "serving"]
        where = op.where
        anonymous = client.request(op.method, op.url(), json=op.example if op.has_example else None)
        if op.role == "open":
            assert anonymous.status_code not in {401, 403}, where
            continue
        assert op.role in KEYS, where
        assert anonymous.status_code == 401, f"{where}: {anonymous.status_code} {anonymous.text}"
        short = SHORT_OF[op.role]
        if short is not None:
            denied = client.request(
                op.method, op.url(), json=op.example if op.has_example else None, headers=headers_for(short)
            )
            assert denied.status_code == 403, f"{where} with role {short}: {denied.status_code}"
