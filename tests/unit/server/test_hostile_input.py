"""The hostile-input corpus: what a careless client or an attacker sends gets a JSON 4xx with a message.

One real server (uvicorn on a loopback port, credentials on) takes every case in turn, and so does a real
router in front of two such servers; at the end each must still be serving. Cases found by fuzzing stay
here so that they stay fixed.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key
from tests.unit.server.conftest import SIGNATURE, ThreadedServer, fitted_linear

APP = {"X-API-Key": "app-key"}
ADMIN = {"X-API-Key": "ops-key"}
MAX_BODY = 64 * 1024
ROW = b"[1.0, 2.0, 3.0]"
TENSOR = b'{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}'


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(APP))
    statuses: tuple[int, ...] = (400, 422)
    words: str = ""
    # What a router answers when that differs: a path it does not serve is its own JSON 404.
    on_router: tuple[int, ...] | None = None

    def expected(self, target: str) -> tuple[tuple[int, ...], str]:
        if target == "router" and self.on_router is not None:
            return self.on_router, ""
        return self.statuses, self.words


def nested(depth: int) -> bytes:
    return b'{"features": ' + b"[" * depth + b"1" + b"]" * depth + b"}"


CASES = [
    # Bodies that are not the JSON object asked for.
    Case("empty body", "POST", "/predict", b"", statuses=(400,), words="empty"),
    Case(
        "truncated JSON", "POST", "/predict", b'{"features": [1, 2', statuses=(400,), words="not valid JSON"
    ),
    Case("a list, not an object", "POST", "/predict", b"[1, 2, 3]", statuses=(400,), words="JSON object"),
    Case("NaN", "POST", "/predict", b'{"features": [NaN, 1, 2]}', statuses=(400,)),
    Case("Infinity", "POST", "/predict", b'{"features": [Infinity, 1, 2]}', statuses=(400,)),
    Case("1e400 overflows to infinity", "POST", "/predict", b'{"features": [1e400, 1, 2]}', statuses=(400,)),
    Case("deeply nested", "POST", "/predict", nested(100_000), statuses=(400, 413)),
    Case("nested a little", "POST", "/predict", nested(40), statuses=(422,)),
    Case(
        "multipart body",
        "POST",
        "/predict",
        b"--x\r\nContent-Disposition: form-data\r\n\r\n1\r\n--x--",
        headers={**APP, "content-type": "multipart/form-data; boundary=x"},
        statuses=(400,),
    ),
    Case(
        "body over the limit",
        "POST",
        "/predict/batch",
        b'{"instances": [' + b",".join([ROW] * 6000) + b"]}",
        statuses=(413,),
        words="limit",
    ),
    # Rows of the wrong shape or type.
    Case("too few features", "POST", "/predict", b'{"features": [1, 2]}', statuses=(422,), words="3"),
    Case("too many features", "POST", "/predict", b'{"features": [1, 2, 3, 4]}', statuses=(422,)),
    Case(
        "unknown feature name",
        "POST",
        "/predict",
        b'{"features": {"age": 1, "income": 2, "bogus": 3}}',
        statuses=(422,),
        words="missing feature",
    ),
    Case(
        "an extra feature name",
        "POST",
        "/predict",
        b'{"features": {"age": 1, "income": 2, "score": 3, "bogus": 4}}',
        statuses=(422,),
        words="bogus",
    ),
    Case("text where a number goes", "POST", "/predict", b'{"features": [1, "two", 3]}', statuses=(422,)),
    Case("rows not a list", "POST", "/predict/batch", b'{"instances": 5}', statuses=(422,)),
    Case("model not a string", "POST", "/predict", b'{"model": 5, "features": [1, 2, 3]}', statuses=(422,)),
    # Names and versions that try to escape or to look like numbers.
    Case(
        "traversal in a model id",
        "POST",
        "/predict",
        b'{"model": "../../etc/passwd", "features": [1, 2, 3]}',
        statuses=(404, 422),
    ),
    Case("traversal in a path", "GET", "/models/..%2F..%2Fetc%2Fpasswd", statuses=(404, 422)),
    Case(
        "traversal in an inference path", "POST", "/v2/models/..%2Fsecrets/infer", b"{}", statuses=(404, 422)
    ),
    Case(
        "superscript version",
        "POST",
        "/predict",
        '{"model": "lin:\u00b2", "features": [1, 2, 3]}'.encode(),
        statuses=(404, 422),
        words="invalid version",
    ),
    Case(
        "Arabic-Indic version",
        "POST",
        "/predict",
        '{"model": "lin:\u0661", "features": [1, 2, 3]}'.encode(),
        statuses=(404, 422),
        words="invalid version",
    ),
    Case("superscript version in a path", "GET", "/models/lin:%C2%B2", statuses=(404, 422)),
    Case(
        "superscript version on reload",
        "POST",
        "/models/lin:%C2%B2/reload",
        headers=dict(ADMIN),
        statuses=(404, 422),
    ),
    Case(
        "a check mark as a model name",
        "POST",
        "/v2/models/%E2%9C%93/infer",
        b'{"inputs": [' + TENSOR + b"]}",
        statuses=(404,),
    ),
    Case("control characters in a path", "POST", "/v2/models/a%0D%0Ab/infer", b"{}", statuses=(400, 404)),
    # Credentials and methods.
    Case("no credential", "POST", "/predict", b'{"features": [1, 2, 3]}', headers={}, statuses=(401,)),
    Case(
        "unknown key",
        "POST",
        "/predict",
        b'{"features": [1, 2, 3]}',
        headers={"X-API-Key": "guess"},
        statuses=(401,),
    ),
    Case("not a bearer", "GET", "/models", headers={"Authorization": "Basic YTpi"}, statuses=(401,)),
    Case("predict key on an admin call", "POST", "/models/lin/reload", statuses=(403,)),
    Case("wrong method", "PATCH", "/predict", b"{}", statuses=(405,)),
    Case("unknown path", "GET", "/../../etc/passwd", statuses=(404,)),
    # Feedback.
    Case("feedback without credential, bad body", "POST", "/feedback", b"{", headers={}, statuses=(401,)),
    Case("feedback value NaN", "POST", "/feedback", b'{"request_id": "r", "value": NaN}', statuses=(400,)),
    Case(
        "feedback value 1e400", "POST", "/feedback", b'{"request_id": "r", "value": 1e400}', statuses=(400,)
    ),
    Case(
        "feedback value false", "POST", "/feedback", b'{"request_id": "r", "value": false}', statuses=(422,)
    ),
    Case(
        "feedback value as text", "POST", "/feedback", b'{"request_id": "r", "value": "1"}', statuses=(422,)
    ),
    Case(
        "feedback with no request id",
        "POST",
        "/feedback",
        b'{"value": 1}',
        statuses=(422,),
        words="request_id",
    ),
    Case(
        "feedback request id too long",
        "POST",
        "/feedback",
        b'{"request_id": "' + b"r" * 65 + b'", "value": 1}',
        statuses=(422,),
    ),
    Case("feedback with nothing to record", "POST", "/feedback", b'{"request_id": "r"}', statuses=(422,)),
    # Open Inference Protocol.
    Case("infer without inputs", "POST", "/v2/models/lin/infer", b"{}", statuses=(400, 422)),
    Case(
        "infer with a wrong shape",
        "POST",
        "/v2/models/lin/infer",
        b'{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2]}]}',
        statuses=(400, 422),
    ),
    Case(
        "infer with an unknown datatype",
        "POST",
        "/v2/models/lin/infer",
        b'{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP1024", "data": [1, 2, 3]}]}',
        statuses=(400, 422),
    ),
    Case(
        "infer with a negative shape",
        "POST",
        "/v2/models/lin/infer",
        b'{"inputs": [{"name": "x", "shape": [-1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}',
        statuses=(400, 422),
    ),
    Case(
        "infer with outputs null",
        "POST",
        "/v2/models/lin/infer",
        b'{"inputs": [' + TENSOR + b'], "outputs": null}',
        statuses=(422,),
        words="outputs",
    ),
    Case(
        "infer with an output without a name",
        "POST",
        "/v2/models/lin/infer",
        b'{"inputs": [' + TENSOR + b'], "outputs": [{}]}',
        statuses=(422,),
        words="outputs[0].name",
    ),
    Case(
        "infer with a huge shape",
        "POST",
        "/v2/models/lin/infer",
        b'{"inputs": [{"name": "x", "shape": [100000000000, 3], "datatype": "FP64", "data": [1, 2, 3]}]}',
        statuses=(400, 413, 422),
    ),
]


def registry_with_lin(home: Path) -> ModelRegistry:
    registry = ModelRegistry(f"sqlite:///{home / 'store.db'}", str(home / "artifacts"))
    registry.register("lin", fitted_linear(), signature=SIGNATURE)
    registry.promote("lin", 1)
    return registry


def wait_ready(url: str) -> None:
    with httpx.Client(base_url=url) as client:
        deadline = time.monotonic() + 20
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, f"{url} never became ready"
            time.sleep(0.05)


KEYS = (f"ops:admin:{hash_key('ops-key')}", f"app:predict:{hash_key('app-key')}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    registry = registry_with_lin(tmp_path_factory.mktemp("hostile"))
    settings = ServerSettings(
        models=("lin",),
        store_url=registry.store.url,
        artifacts_url=registry.artifacts.root,
        max_body_bytes=MAX_BODY,
        api_keys=KEYS,
    )
    with ThreadedServer(create_app(settings)) as running:
        wait_ready(running.url)
        yield running
        still_serving(running)


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    """A router (credentials on, the same body limit) in front of two servers of ``lin``."""
    home: Path = tmp_path_factory.mktemp("hostile-router")
    registry = registry_with_lin(home)
    variant = ServerSettings(
        models=("lin",), store_url=registry.store.url, artifacts_url=registry.artifacts.root
    )
    with ThreadedServer(create_app(variant)) as a, ThreadedServer(create_app(variant)) as b:
        spec = {
            "strategy": "weighted",
            "metric": {"name": "error", "goal": "minimize", "type": "mean"},
            "variants": [
                {"name": "A", "weight": 50, "upstream": a.url},
                {"name": "B", "weight": 50, "upstream": b.url},
            ],
        }
        (home / "exp.yaml").write_text(yaml.safe_dump({"name": "lin-ab", "spec": spec}))
        settings = ServerSettings(experiment=str(home / "exp.yaml"), max_body_bytes=MAX_BODY, api_keys=KEYS)
        wait_ready(a.url)
        wait_ready(b.url)
        with ThreadedServer(create_app(settings)) as running:
            wait_ready(running.url)
            yield running
            still_serving(running)


def still_serving(running: ThreadedServer) -> None:
    """Whatever came before, it still answers its probe and a prediction."""
    with httpx.Client(base_url=running.url) as client:
        assert client.get("/readyz").status_code == 200
        answer = client.post("/predict", json={"model": "lin", "features": [1, 2, 3]}, headers=APP)
        assert answer.status_code == 200, answer.text


@pytest.fixture(params=["server", "router"])
def target(request: pytest.FixtureRequest) -> tuple[str, ThreadedServer]:
    return request.param, request.getfixturevalue(request.param)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_gets_a_json_4xx(target: tuple[str, ThreadedServer], case: Case) -> None:
    kind, running = target
    statuses, words = case.expected(kind)
    with httpx.Client(base_url=running.url, timeout=30) as client:
        response = client.request(case.method, case.path, content=case.body, headers=case.headers)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    answer = response.json()
    assert isinstance(answer["error"], str), answer
    assert answer["error"], answer
    assert answer["code"], answer
    assert words in answer["error"], answer


def test_a_chunked_body_over_the_limit_is_a_413_on_every_json_endpoint(server: ThreadedServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"request_id": "r", "value": 1, "outcome": ['
        for _ in range(MAX_BODY // 16 + 10):
            yield b"1234567890123456"
        yield b"]}"

    with httpx.Client(base_url=server.url, timeout=30) as client:
        for path in ("/feedback", "/predict", "/predict/batch", "/v2/models/lin/infer"):
            response = client.post(path, content=chunks(), headers=APP)
            assert response.status_code == 413, (path, response.text)
            assert response.json()["code"] == "payload_too_large"


def test_any_content_type_is_read_as_json(server: ThreadedServer) -> None:
    """One rule for every JSON endpoint: curl -d sends a form type, and that works everywhere."""
    form = {**APP, "content-type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=server.url) as client:
        predicted = client.post("/predict", content=b'{"model": "lin", "features": [1, 2, 3]}', headers=form)
        assert predicted.status_code == 200, predicted.text
        feedback = client.post("/feedback", content=b'{"request_id": "r1", "outcome": 1}', headers=form)
        assert feedback.status_code == 202, feedback.text


def test_a_header_split_by_a_raw_newline_is_refused(server: ThreadedServer) -> None:
    """A request line or header with a bare CR/LF never reaches the app (uvicorn answers 400)."""
    host, port = "127.0.0.1", server.port
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"GET /models HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\rb\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


def test_a_wrong_method_names_every_method_of_the_path(server: ThreadedServer) -> None:
    """Allow lists the methods of every route on the path (GET and DELETE here), not the first one's."""
    with httpx.Client(base_url=server.url) as client:
        response = client.patch("/models/lin", headers=ADMIN)
    assert response.status_code == 405, response.text
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "DELETE"}
    assert response.json()["code"]
