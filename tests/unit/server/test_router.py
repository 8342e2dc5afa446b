"""Router mode against two real model servers on loopback ports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from mlpy.experiments import GuardrailWindows
from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key
from mlpy_server.errors import ServerConfigError
from mlpy_server.router_plan import load_experiment

ADMIN = {"X-API-Key": "ops"}


@pytest.fixture
def variants(make_settings: Callable[..., ServerSettings], serve_app: Callable[..., Any]) -> dict[str, str]:
    """Variant A serves lin v1, variant B serves lin v2, each on its own port."""
    urls = {}
    for variant, model in (("A", "lin:1"), ("B", "lin:2")):
        server = serve_app(create_app(make_settings(models=(model,))))
        urls[variant] = server.url
    return urls


def experiment_file(tmp_path: Path, variants: dict[str, str], strategy: str = "weighted") -> Path:
    path = tmp_path / "exp.yaml"
    spec = {
        "strategy": strategy,
        "metric": {"name": "error", "goal": "minimize", "type": "mean"},
        "variants": [{"name": name, "weight": 50, "upstream": url} for name, url in variants.items()],
    }
    path.write_text(yaml.safe_dump({"name": "lin-ab", "spec": spec}))
    return path


def router_client(tmp_path: Path, variants: dict[str, str], **overrides: Any) -> TestClient:
    settings = ServerSettings(
        experiment=str(experiment_file(tmp_path, variants)),
        api_keys=(f"ops:admin:{hash_key('ops')}",),
        **overrides,
    )
    return TestClient(create_app(settings))


def wait_upstreams(variants: dict[str, str]) -> None:
    import time

    import httpx

    for url in variants.values():
        deadline = time.monotonic() + 20
        while httpx.get(f"{url}/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_routes_sticky_per_unit_and_learns_from_feedback(tmp_path: Path, variants: dict[str, str]) -> None:
    wait_upstreams(variants)
    with router_client(tmp_path, variants) as client:
        assert client.get("/readyz").status_code == 200
        seen: dict[str, set[str]] = {}
        for unit in range(40):
            for _ in range(2):
                response = client.post(
                    "/predict", json={"features": [1, 2, 3], "unit_id": f"user-{unit}"}, headers=ADMIN
                )
                assert response.status_code == 200, response.text
                variant = response.headers["x-mlpy-variant"]
                assert response.json()["version"] == {"A": "1", "B": "2"}[variant]
                seen.setdefault(f"user-{unit}", set()).add(variant)
        assert all(len(v) == 1 for v in seen.values())
        assert {next(iter(v)) for v in seen.values()} == {"A", "B"}
        answer = client.post("/predict", json={"features": [1, 2, 3]}, headers=ADMIN)
        request_id = answer.json()["request_id"]
        assert answer.headers["x-request-id"] == request_id
        feedback = client.post("/feedback", json={"request_id": request_id, "value": 0.25}, headers=ADMIN)
        assert feedback.status_code == 202
        assert feedback.json()["variant"] == answer.headers["x-mlpy-variant"]
        unknown = client.post("/feedback", json={"request_id": "never-seen", "value": 1.0}, headers=ADMIN)
        assert unknown.status_code == 404
        assert (
            client.post(
                "/feedback", json={"request_id": "never", "value": 1.0, "variant": "A"}, headers=ADMIN
            ).status_code
            == 202
        )
        stats = client.get("/experiment", headers=ADMIN).json()
        by_name = {v["name"]: v for v in stats["variants"]}
        assert sum(v["stats"]["assigned"] for v in by_name.values()) == 81
        assert sum(v["stats"]["n"] for v in by_name.values()) == 2
        assert stats["weights"] == {"A": 0.5, "B": 0.5}
        verdict = stats["analysis"]
        assert verdict["decision"] == "keep_running"
        assert verdict["winner"] is None
        assert "below" in verdict["reasons"][0]
        assert verdict["variants"]["A"]["n"] + verdict["variants"]["B"]["n"] == 2
        infer = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}
        assert client.post("/v2/models/lin/infer", json=infer, headers=ADMIN).status_code == 200


def test_weights_change_at_run_time(tmp_path: Path, variants: dict[str, str]) -> None:
    wait_upstreams(variants)
    with router_client(tmp_path, variants) as client:
        assert client.put("/experiment/weights", json={"weights": {"A": 0, "B": 1}}).status_code == 401
        changed = client.put("/experiment/weights", json={"weights": {"A": 0, "B": 1}}, headers=ADMIN)
        assert changed.status_code == 200
        assert changed.json()["weights"] == {"A": 0.0, "B": 1.0}
        routed = {
            client.post("/predict", json={"features": [1, 2, 3]}, headers=ADMIN).headers["x-mlpy-variant"]
            for _ in range(20)
        }
        assert routed == {"B"}
        bad = client.put("/experiment/weights", json={"weights": {"C": 1}}, headers=ADMIN)
        assert bad.status_code == 422
        assert "unknown variants" in bad.json()["error"]
        negative = client.put("/experiment/weights", json={"weights": {"A": -1, "B": 1}}, headers=ADMIN)
        assert negative.status_code == 422


def test_unreachable_variant_is_a_502(tmp_path: Path, make_settings: Callable[..., ServerSettings]) -> None:
    dead = {"A": "http://127.0.0.1:9", "B": "http://127.0.0.1:9"}
    with router_client(tmp_path, dead, upstream_timeout_s=2.0) as client:
        response = client.post("/predict", json={"features": [1, 2, 3]}, headers=ADMIN)
        assert response.status_code == 502
        assert "unreachable" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        # Still encoded on the variant's request line: the variant looks the name up and says 404.
        ("/v2/models/%E2%9C%93/infer", 404, "not loaded"),
        ("/v2/models/%C3%A9/infer", 404, "not loaded"),
        ("/v2/models/a%20b/versions/1/infer", 404, "not loaded"),
        # Control characters never reach the variant's socket: the router refuses them itself.
        ("/v2/models/a%0D%0AX-Evil:%201/infer", 400, "control character"),
        ("/v2/models/lin%00/infer", 400, "control character"),
    ],
)
def test_hostile_model_paths_get_a_json_4xx_from_the_router(
    tmp_path: Path,
    variants: dict[str, str],
    serve_app: Callable[..., Any],
    path: str,
    status: int,
    words: str,
) -> None:
    import httpx

    wait_upstreams(variants)
    settings = ServerSettings(
        experiment=str(experiment_file(tmp_path, variants)), api_keys=(f"ops:admin:{hash_key('ops')}",)
    )
    router = serve_app(create_app(settings))
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}
    # A real socket, so the path reaches uvicorn exactly as written (TestClient would re-encode it).
    response = httpx.post(f"{router.url}{path}", json=body, headers=ADMIN)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert words in response.json()["error"]
    assert httpx.get(f"{router.url}/readyz").status_code == 200


def test_experiment_configuration_errors(tmp_path: Path) -> None:
    path = experiment_file(tmp_path, {"A": "http://a:1", "B": "http://b:1"})
    spec = yaml.safe_load(path.read_text())
    del spec["spec"]["variants"][1]["upstream"]
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ServerConfigError, match="no upstream URL for variant 'B'"):
        load_experiment(ServerSettings(experiment=str(path)))
    plan = load_experiment(ServerSettings(experiment=str(path), upstreams={"B": "http://b:2"}))
    assert plan.upstreams == {"A": "http://a:1", "B": "http://b:2"}
    with pytest.raises(ServerConfigError, match="unknown variant 'C'"):
        load_experiment(ServerSettings(experiment=str(path), upstreams={"B": "http://b", "C": "http://c"}))


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_upstream_pool_reuses_connections_and_survives_a_stale_one(
    loop: str, make_settings: Callable[..., ServerSettings], serve_app: Callable[..., Any]
) -> None:
    import asyncio

    from mlpy_server.upstream import UpstreamConnectionError, UpstreamPool

    server = serve_app(create_app(make_settings()))
    wait_upstreams({"A": server.url})

    async def scenario() -> None:
        pool = UpstreamPool(timeout_s=5)
        body = b'{"features": [1, 2, 3]}'
        headers = {"content-type": "application/json"}
        answers = [await pool.post(server.url, "/predict", body, headers) for _ in range(3)]
        assert [status for status, _, _ in answers] == [200, 200, 200]
        assert len(pool._idle[("127.0.0.1", server.port)]) == 1
        pool._idle[("127.0.0.1", server.port)][0].transport.close()  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
        status, content, answered = await pool.post(server.url, "/predict", body, headers)
        assert status == 200
        assert answered == {"content-type": "application/json"}
        assert b'"model":"lin"' in content
        with pytest.raises(UpstreamConnectionError, match="cannot connect"):
            await pool.post("http://127.0.0.1:9", "/predict", body, headers)
        pool.close()

    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(scenario())
    else:
        asyncio.run(scenario())


def test_variant_and_outcome_reach_the_prediction_log(
    tmp_path: Path,
    sqlite_url: str,
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[..., Any],
) -> None:
    from datetime import UTC, datetime, timedelta

    from mlpy.predlog import read_window

    upstream = serve_app(create_app(make_settings(predlog_sample_rate=1.0, predlog_store_url=sqlite_url)))
    wait_upstreams({"A": upstream.url})
    same = {"A": upstream.url, "B": upstream.url}
    with router_client(tmp_path, same, predlog_sample_rate=1.0, predlog_store_url=sqlite_url) as client:
        answer = client.post("/predict", json={"features": [1, 2, 3], "unit_id": "u1"}, headers=ADMIN)
        request_id, variant = answer.json()["request_id"], answer.headers["x-mlpy-variant"]
        feedback = client.post("/feedback", json={"request_id": request_id, "value": 1.0}, headers=ADMIN)
        assert feedback.json() == {
            "request_id": request_id,
            "logged": True,
            "variant": variant,
            "counted": True,
        }
        upstream_state = upstream.server.config.app.state.mlpy
        upstream_state.predlog.flush()
        client.app.state.mlpy.predlog.flush()  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    frame = read_window(sqlite_url, "lin", now - timedelta(minutes=5), now + timedelta(minutes=5))
    row = frame[frame.request_id == request_id].iloc[0]
    assert row.variant == variant
    assert row.outcome == 1.0


def test_a_failing_variant_is_rolled_back_by_its_guardrails(
    tmp_path: Path, make_settings: Callable[..., ServerSettings], serve_app: Callable[..., Any]
) -> None:
    """B's server is down: every request it gets fails. After two breached windows its weight goes
    to 0 on its own, before any feedback, and the experiment says why; A keeps serving."""
    import time

    from localk8s import free_port

    variants = {
        "A": serve_app(create_app(make_settings(models=("lin:1",)))).url,
        "B": f"http://127.0.0.1:{free_port()}",  # nothing listens there
    }
    wait_upstreams({"A": variants["A"]})
    path = experiment_file(tmp_path, variants)
    document = yaml.safe_load(path.read_text())
    document["spec"]["guardrails"] = {
        "maxErrorRate": 0.1,
        "consecutive": 2,
        "minRequests": 3,
        "intervalSeconds": 0.1,
    }
    path.write_text(yaml.safe_dump(document))
    settings = ServerSettings(experiment=str(path), api_keys=(f"ops:admin:{hash_key('ops')}",))
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 20
        while client.get("/experiment", headers=ADMIN).json()["weights"]["B"] > 0:
            assert time.monotonic() < deadline, client.get("/experiment", headers=ADMIN).json()["guardrails"]
            client.post("/predict", json={"features": [1, 2, 3]}, headers=ADMIN)
        shown = client.get("/experiment", headers=ADMIN).json()
        assert shown["weights"] == {"A": 1.0, "B": 0.0}
        assert "variant B breached its guardrails in 2 consecutive windows" in shown["pinned"]["reason"]
        assert "error rate 100.0% above 10.0%" in shown["pinned"]["reason"]
        assert shown["guardrails"]["variants"]["B"]["errors"] >= 3
        router = client.app.state.mlpy.router  # type: ignore[attr-defined]
        windows = GuardrailWindows.of(router.plan.backend.load(router.plan.name), "B")
        assert windows.breached >= 1  # every window judged reaches the operator too, through the backend
        for _ in range(10):
            answer = client.post("/predict", json={"features": [1, 2, 3]}, headers=ADMIN)
            assert answer.status_code == 200
            assert answer.headers["x-mlpy-variant"] == "A"


def test_a_mirror_gets_copies_its_answers_never_reach_the_client_and_are_compared(
    tmp_path: Path,
    variants: dict[str, str],
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[..., Any],
) -> None:
    """The shadow serves lin v2, as variant B does: the copies of B's requests agree, A's do not."""
    import time

    shadow = serve_app(create_app(make_settings(models=("lin:2",)))).url
    wait_upstreams({**variants, "shadow": shadow})
    path = experiment_file(tmp_path, variants)
    document = yaml.safe_load(path.read_text())
    document["spec"]["mirror"] = {"upstream": shadow, "percent": 100}
    path.write_text(yaml.safe_dump(document))
    settings = ServerSettings(experiment=str(path), api_keys=(f"ops:admin:{hash_key('ops')}",))
    with TestClient(create_app(settings)) as client:
        served = {"A": 0, "B": 0}
        for unit in range(40):
            answer = client.post(
                "/predict", json={"features": [1, 2, 3], "unit_id": f"u{unit}"}, headers=ADMIN
            )
            variant = answer.headers["x-mlpy-variant"]
            assert answer.json()["version"] == {"A": "1", "B": "2"}[variant]  # the served answer, always
            served[variant] += 1
        deadline = time.monotonic() + 15
        while (client.get("/experiment", headers=ADMIN).json()["mirror"] or {}).get("compared", 0) < 40:
            assert time.monotonic() < deadline, client.get("/experiment", headers=ADMIN).json()["mirror"]
            time.sleep(0.2)
        mirror = client.get("/experiment", headers=ADMIN).json()["mirror"]
    assert (mirror["copies"], mirror["failed"], mirror["compared"]) == (40, 0, 40)
    assert mirror["agreement"] == pytest.approx(served["B"] / 40)
    assert mirror["meanLatencyMs"] > 0
    assert mirror["upstream"] == shadow
