"""The native API and the Open Inference Protocol, through the real app (TestClient)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from mlpy.registry import ModelRegistry
from tests.unit.server.conftest import STANDARD_SERIES

ROW = {"age": 1.0, "income": 2.0, "score": 3.0}
EXPECTED_V1 = 1.0 + 4.0 + 9.0 + 0.5
EXPECTED_V2 = 2 * (1.0 + 4.0 + 9.0) + 0.5


def test_predict_one_row_by_name_and_by_position(client: TestClient) -> None:
    named = client.post("/predict", json={"features": ROW})
    positional = client.post("/predict", json={"features": [1, 2, 3]})
    assert named.status_code == positional.status_code == 200
    body = named.json()
    assert body["model"] == "lin"
    assert body["version"] == "1"
    assert body["prediction"] == pytest.approx(EXPECTED_V1)
    assert positional.json()["prediction"] == pytest.approx(EXPECTED_V1)
    assert body["request_id"] == named.headers["x-request-id"]


def test_caller_request_id_is_kept_and_unsafe_ones_replaced(client: TestClient) -> None:
    kept = client.post("/predict", json={"features": [1, 2, 3]}, headers={"X-Request-ID": "trace-42"})
    assert kept.json()["request_id"] == "trace-42" == kept.headers["x-request-id"]
    replaced = client.post("/predict", json={"features": [1, 2, 3]}, headers={"X-Request-ID": "bad id\x7f"})
    assert replaced.json()["request_id"] != "bad id\x7f"


def test_batch_keeps_order(client: TestClient) -> None:
    response = client.post("/predict/batch", json={"instances": [[1, 2, 3], [0, 0, 0], ROW]})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == pytest.approx([EXPECTED_V1, 0.5, EXPECTED_V1])


def test_model_ids_select_versions(make_client: Callable[..., TestClient]) -> None:
    client = make_client(models=("lin", "lin:2", "clf@production"))
    v1 = client.post("/predict", json={"model": "lin", "features": [1, 2, 3]}).json()
    v2 = client.post("/predict", json={"model": "lin:2", "features": [1, 2, 3]}).json()
    assert (v1["version"], v2["version"]) == ("1", "2")
    assert v2["prediction"] == pytest.approx(EXPECTED_V2)
    by_alias = client.post("/predict", json={"model": "lin@production", "features": [1, 2, 3]})
    assert by_alias.json()["version"] == "1"
    label = client.post("/predict", json={"model": "clf", "features": [2.0, 0.0]}).json()
    assert label["prediction"] == "yes"
    ambiguous = client.post("/predict", json={"features": [1, 2, 3]})
    assert ambiguous.status_code == 422
    assert ambiguous.json()["field"] == "model"
    assert "clf@production, lin, lin:2" in ambiguous.json()["error"]
    missing = client.post("/predict", json={"model": "lin:7", "features": [1, 2, 3]})
    assert missing.status_code == 404
    assert missing.json()["code"] == "model_not_found"
    invalid = client.post("/predict", json={"model": "bad name", "features": [1, 2, 3]})
    assert invalid.status_code == 422


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"features": {"age": 1, "income": 2}}, 422, "features.score", "missing feature 'score'"),
        ({"features": [1, 2]}, 422, "features", "expected 3 (age, income, score)"),
        ({"features": [1, "x", 3]}, 422, "features[1]", "non-numeric value 'x'"),
        ({"instances": [[1, 2, 3]]}, 422, "features", "field 'features' is required"),
        ({"features": [1, 2, 3], "model": 5}, 422, "model", "field 'model' must be a non-empty string"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    client: TestClient, body: dict[str, object], status: int, field: str, message: str
) -> None:
    response = client.post("/predict", json=body)
    assert response.status_code == status
    error = response.json()
    assert error["field"] == field
    assert message in error["error"]
    assert error["request_id"] == response.headers["x-request-id"]


def test_malformed_and_oversized_bodies(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=2048, max_batch_rows=5)
    assert client.post("/predict", content=b'{"features": [NaN, 1, 2]}').status_code == 400
    assert client.post("/predict", content=b"not json").json()["code"] == "malformed_request"
    form = {"content-type": "application/x-www-form-urlencoded"}  # what curl -d sends
    feedback = client.post("/feedback", content=b'{"request_id": "r1", "value": 1}', headers=form)
    assert feedback.status_code == 202, feedback.text  # read as JSON, like every endpoint's body
    big = client.post("/predict/batch", json={"instances": [[1.0, 2.0, 3.0]] * 400})
    assert big.status_code == 413
    assert "limit of 2048" in big.json()["error"]

    def chunks() -> object:
        yield b'{"instances": ['
        for _ in range(300):
            yield b"[1, 2, 3],"
        yield b"[1, 2, 3]]}"

    streamed = client.post("/predict/batch", content=chunks())  # type: ignore[arg-type]
    assert streamed.status_code == 413
    rows = client.post("/predict/batch", json={"instances": [[1, 2, 3]] * 6})
    assert rows.status_code == 413
    assert "more than the limit of 5" in rows.json()["error"]


def test_unknown_routes_and_methods_are_json(client: TestClient) -> None:
    assert client.get("/nope").json()["code"] == "not_found"
    response = client.get("/predict")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_models_listing_and_detail(client: TestClient, registry: ModelRegistry) -> None:
    listing = client.get("/models").json()
    assert [m["id"] for m in listing] == ["lin"]
    detail = client.get("/models/lin").json()
    record = registry.get_version("lin", 1)
    assert detail["sha256"] == record.sha256
    assert detail["aliases"] == ["production"]
    assert [i["name"] for i in detail["inputs"]] == ["age", "income", "score"]
    assert client.get("/models/lin:1").json()["version"] == "1"
    assert client.get("/models/other").status_code == 404


def test_a_worker_can_load_before_it_accepts(make_client: Callable[..., TestClient]) -> None:
    """MLPY_STARTUP_LOAD_WAIT_S (set by mlpy serve --workers N): started means able to predict."""
    client = make_client(wait=False, startup_load_wait_s=30.0)
    assert client.post("/predict", json={"features": [1, 2, 3]}).status_code == 200


def test_probes_follow_loading(make_client: Callable[..., TestClient]) -> None:
    client = make_client(models=("lin", "ghost"), wait=False, load_retry_max_s=0.5)
    assert client.get("/healthz").status_code == 200
    assert client.get("/v2/health/live").json() == {"live": True}
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert "ghost" in not_ready.json()["error"]
    assert client.get("/v2/health/ready").status_code == 503
    root = client.get("/").json()
    assert root["ready"] is False
    assert root["mode"] == "server"


def test_open_inference_protocol(client: TestClient) -> None:
    assert client.get("/v2").json()["name"] == "mlpy"
    assert client.get("/v2/health/ready").json() == {"ready": True}
    meta = client.get("/v2/models/lin").json()
    assert meta["versions"] == ["1"]
    assert meta["inputs"][0]["shape"] == [-1, 3]
    assert client.get("/v2/models/lin/versions/1").status_code == 200
    assert client.get("/v2/models/lin/versions/9").status_code == 404
    assert client.get("/v2/models/lin/ready").json()["ready"] is True
    body = {
        "id": "req-1",
        "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3, 0, 0, 0]}],
    }
    answer = client.post("/v2/models/lin/infer", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["model_name"] == "lin"
    assert result["model_version"] == "1"
    assert result["id"] == "req-1"
    assert result["outputs"][0]["name"] == "predict"
    assert result["outputs"][0]["shape"] == [2]
    assert result["outputs"][0]["data"] == pytest.approx([EXPECTED_V1, 0.5])
    versioned = client.post("/v2/models/lin/versions/1/infer", json=body)
    assert versioned.status_code == 200
    bad = client.post(
        "/v2/models/lin/infer",
        json={"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]},
    )
    assert bad.status_code == 422
    assert "takes 3" in bad.json()["error"]
    assert isinstance(bad.json()["error"], str)
    assert client.post("/v2/models/nope/infer", json=body).status_code == 404


def test_classifier_probabilities_over_oip(make_client: Callable[..., TestClient]) -> None:
    client = make_client(models=("clf",))
    body = {
        "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [2.0, 0.0]}],
        "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
    }
    result = client.post("/v2/models/clf/infer", json=body).json()
    label, proba = result["outputs"]
    assert label == {"name": "predict", "shape": [1], "datatype": "BYTES", "data": ["yes"]}
    assert proba["shape"] == [1, 2]
    assert sum(proba["data"]) == pytest.approx(1.0)


def test_metrics_cover_latency_predictions_errors_and_models(client: TestClient) -> None:
    client.post("/predict/batch", json={"instances": [[1, 2, 3]] * 4})
    client.post("/predict", json={"features": [1, "x", 3]})
    text = client.get("/metrics").text
    assert (
        'mlpy_request_duration_seconds_count{endpoint="/predict/batch",model="lin",version="1"} 1.0' in text
    )
    assert 'mlpy_predictions_total{model="lin",version="1"} 4.0' in text
    assert (
        'mlpy_request_errors_total{code="invalid_input",endpoint="/predict",model="lin",version="1"} 1.0'
        in text
    )
    assert "mlpy_models_loaded 1.0" in text
    assert 'mlpy_model_info{id="lin"' in text


def test_openapi_documents_the_hot_path_bodies(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    predict = spec["paths"]["/predict"]["post"]
    schema = predict["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["features"]
    assert "/v2/models/{name}/infer" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_metrics_carry_the_standard_process_and_python_series(make_client: Callable[..., TestClient]) -> None:
    text = make_client().get("/metrics").text
    for name in STANDARD_SERIES:
        assert f"\n{name}" in text, name
