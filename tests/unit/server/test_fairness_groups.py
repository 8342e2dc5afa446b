"""Group attributes through the server: declared at registration, sent with predictions (native and
Open Inference Protocol), logged with them, joined with feedback, and read back as fairness figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from mlpy.monitoring import fairness_report
from mlpy.registry import SENSITIVE_FEATURES_TAG, InvalidInputError, ModelRegistry
from mlpy.store import utcnow
from mlpy_server import ServerSettings, create_app
from mlpy_server.errors import ServerConfigError


@pytest.fixture
def loan(registry: ModelRegistry) -> ModelRegistry:
    """``loan``: a 0/1 classifier on two features whose requests may carry ``sex`` and ``age_band``."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 2))
    model = LogisticRegression().fit(x, (x[:, 0] + 0.3 * x[:, 1] > 0).astype(int))
    version = registry.register("loan", model, sensitive_features=["sex", "age_band"])
    assert version.tags[SENSITIVE_FEATURES_TAG] == "sex,age_band"
    registry.promote("loan", 1)
    return registry


def serve(make_client: Callable[..., TestClient], loan: ModelRegistry) -> TestClient:
    return make_client(models=("loan", "lin"), predlog_sample_rate=1.0, predlog_store_url=loan.store.url)


def test_predictions_with_groups_and_feedback_make_the_fairness_report(
    make_client: Callable[..., TestClient], loan: ModelRegistry
) -> None:
    client = serve(make_client, loan)
    assert client.get("/models/loan").json()["sensitive_features"] == ["sex", "age_band"]
    rng = np.random.default_rng(5)
    rows = rng.normal(size=(120, 2))
    sex = rng.choice(["f", "m"], size=120).tolist()
    predicted: list[int] = []
    outcomes: list[int] = []
    for start in range(0, 120, 40):  # batches: one value per row for sex, one for all rows for age band
        part = slice(start, start + 40)
        body = {
            "model": "loan",
            "instances": rows[part].tolist(),
            "groups": {"sex": sex[part], "age_band": "31-60"},
        }
        answer = client.post("/predict/batch", json=body)
        assert answer.status_code == 200, answer.text
        predicted += answer.json()["predictions"]
        truth = (rows[part, 0] > 0.2).astype(int).tolist()
        outcomes += truth
        sent = client.post("/feedback", json={"request_id": answer.json()["request_id"], "outcome": truth})
        assert sent.status_code == 202
    single = client.post("/predict", json={"model": "loan", "features": [0.5, 0.5], "groups": {"sex": "f"}})
    assert single.status_code == 200, single.text
    client.post("/feedback", json={"request_id": single.json()["request_id"], "outcome": 0})
    infer = {
        "inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP64", "data": [1.0, 1.0, -1.0, -1.0]}],
        "parameters": {"groups": {"sex": ["m", "f"]}},
    }
    v2 = client.post("/v2/models/loan/infer", json=infer)
    assert v2.status_code == 200, v2.text
    client.post("/feedback", json={"request_id": v2.json()["parameters"]["request_id"], "outcome": [1, 0]})
    predicted += [single.json()["prediction"], *v2.json()["outputs"][0]["data"]]
    outcomes += [0, 1, 0]
    sex += ["f", "m", "f"]
    client.app.state.mlpy.predlog.flush()  # type: ignore[attr-defined]

    report = fairness_report(loan.store, "loan", "1", timedelta(hours=1), now=utcnow())
    assert report.samples == 123
    found = {a.attribute: a for a in report.attributes}
    assert found["sex"].samples == 123
    assert found["age_band"].samples == 120  # the single and v2 requests sent no age band
    expected_dpd = demographic_parity_difference(outcomes, predicted, sensitive_features=sex)
    expected_eod = equalized_odds_difference(outcomes, predicted, sensitive_features=sex)
    assert found["sex"].demographic_parity_difference == pytest.approx(expected_dpd, abs=1e-12)
    assert found["sex"].equalized_odds_difference == pytest.approx(expected_eod, abs=1e-12)
    assert found["age_band"].demographic_parity_difference == 0.0  # one group: no gap


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/predict", {"model": "loan", "features": [0, 0], "groups": {"race": "x"}}, "groups.race"),
        (
            "/v2/models/loan/infer",
            {
                "inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [0, 0]}],
                "parameters": {"groups": '{"sex": "f", "zip": "123"}'},
            },
            "parameters.groups.zip",
        ),
        ("/predict", {"model": "lin", "features": [1, 2, 3], "groups": {"sex": "f"}}, "groups.sex"),
    ],
)
def test_an_undeclared_group_name_is_a_422_naming_it(
    make_client: Callable[..., TestClient],
    loan: ModelRegistry,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    answer = serve(make_client, loan).post(path, json=body)
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    assert repr(field.rsplit(".", 1)[1]) in answer.json()["error"]
    assert "undeclared group attribute" in answer.json()["error"]


@pytest.mark.parametrize(
    ("groups", "field"),
    [
        ({"sex": ["f"]}, "groups.sex"),  # one value for two rows
        ({"sex": ["f", 1.5]}, "groups.sex[1]"),
        ({"sex": ["f", None]}, "groups.sex[1]"),
        (["sex"], "groups"),
    ],
)
def test_malformed_group_values_are_a_422(
    make_client: Callable[..., TestClient], loan: ModelRegistry, groups: object, field: str
) -> None:
    body = {"model": "loan", "instances": [[0, 0], [1, 1]], "groups": groups}
    answer = serve(make_client, loan).post("/predict/batch", json=body)
    assert answer.status_code == 422
    assert answer.json()["field"] == field


def test_sensitive_feature_names_are_checked_at_registration(registry: ModelRegistry) -> None:
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(InvalidInputError, match="twice"):
        registry.register("dup", model, sensitive_features=["sex", "sex"])
    with pytest.raises(InvalidInputError, match="invalid sensitive feature name"):
        registry.register("bad", model, sensitive_features=["a,b"])
    assert SENSITIVE_FEATURES_TAG not in registry.register("none", model).tags


def test_a_model_from_a_uri_declares_them_in_its_environment(
    make_client: Callable[..., TestClient], loan: ModelRegistry
) -> None:
    record = loan.get_version("loan", 1)
    env = {
        "MLPY_MODEL_URI": record.artifact_uri,
        "MLPY_MODEL_SHA256": record.sha256,
        "MLPY_MODEL_NAME": "loan",
        "MLPY_MODEL_SENSITIVE_FEATURES": "sex, age_band",
    }
    uri_model = ServerSettings.from_env(env).uri_model
    assert uri_model is not None
    assert uri_model.sensitive_features == ("sex", "age_band")
    client = make_client(models=(), uri_model=uri_model)
    assert client.post("/predict", json={"features": [0, 0], "groups": {"sex": "f"}}).status_code == 200
    assert client.post("/predict", json={"features": [0, 0], "groups": {"zip": "1"}}).status_code == 422
    with pytest.raises(ServerConfigError, match="MLPY_MODEL_SENSITIVE_FEATURES"):
        ServerSettings.from_env({**env, "MLPY_MODEL_SENSITIVE_FEATURES": "sex,sex"})


def test_grpc_inference_carries_groups_as_json_text(
    make_settings: Callable[..., ServerSettings], serve_app: Callable[[Any], Any], loan: ModelRegistry
) -> None:
    """gRPC parameters are scalars: the groups object travels as its JSON text."""
    import tritonclient.grpc as triton
    from tritonclient.utils import InferenceServerException

    from localk8s import free_port
    from mlpy.predlog import read_labelled_groups
    from tests.unit.server.conftest import wait_until_ready

    port = free_port()
    settings = make_settings(
        models=("loan",), grpc_port=port, predlog_sample_rate=1.0, predlog_store_url=loan.store.url
    )
    http = serve_app(create_app(settings))
    wait_until_ready(http.url)
    client = triton.InferenceServerClient(f"127.0.0.1:{port}")
    rows = triton.InferInput("input-0", [2, 2], "FP64")
    rows.set_data_from_numpy(np.array([[1.0, 1.0], [-1.0, -1.0]]))
    answer = client.infer("loan", [rows], parameters={"groups": json.dumps({"sex": ["m", "f"]})})
    request_id = answer.get_response().parameters["request_id"].string_param
    with pytest.raises(InferenceServerException, match="undeclared group attribute 'zip'"):
        client.infer("loan", [rows], parameters={"groups": json.dumps({"zip": "1"})})
    assert (
        httpx.post(f"{http.url}/feedback", json={"request_id": request_id, "outcome": [1, 0]}).status_code
        == 202
    )
    http.server.config.app.state.mlpy.predlog.flush()
    now = utcnow()
    frame = read_labelled_groups(loan.store, "loan", now - timedelta(minutes=5), now + timedelta(minutes=1))
    assert frame[frame.request_id == request_id]["sex"].tolist() == ["m", "f"]
