"""The Open Inference Protocol with NVIDIA's own client (tritonclient), in its default binary mode and
in JSON, against a real server and through the router: health, metadata and inference."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app
from tests.unit.server.conftest import (
    COEF,
    ThreadedServer,
    experiment_file,
    register_cities,
    wait_until_ready,
)

ROWS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])


@pytest.fixture
def server(make_settings: Callable[..., ServerSettings], serve_app: Callable[[Any], ThreadedServer]) -> str:
    return wait_until_ready(serve_app(create_app(make_settings(models=("lin", "clf")))).url)


def client(url: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url.removeprefix("http://"), network_timeout=10.0)


def infer_lin(url: str, binary: bool) -> np.ndarray:
    tensor = triton.InferInput("input-0", list(ROWS.shape), "FP64")
    tensor.set_data_from_numpy(ROWS, binary_data=binary)
    wanted = [triton.InferRequestedOutput("predict", binary_data=binary)]
    result = client(url).infer("lin", [tensor], outputs=wanted)
    return np.asarray(result.as_numpy("predict"))


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_triton_client_infers_in_binary_and_json(server: str, binary: bool) -> None:
    np.testing.assert_allclose(infer_lin(server, binary), ROWS @ COEF + 0.5)


def test_triton_client_health_and_metadata_tell_the_truth(server: str) -> None:
    triton_client = client(server)
    assert triton_client.is_server_live()
    assert triton_client.is_server_ready()
    assert triton_client.is_model_ready("clf")
    assert "binary_tensor_data" in triton_client.get_server_metadata()["extensions"]
    outputs = {o["name"]: o for o in triton_client.get_model_metadata("clf")["outputs"]}
    # The classifier answers its string labels, and it has class probabilities.
    assert outputs["predict"]["datatype"] == "BYTES"
    assert outputs["predict_proba"] == {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]}
    lin = triton_client.get_model_metadata("lin")["outputs"]
    assert lin == [{"name": "predict", "datatype": "FP64", "shape": [-1]}]


def test_with_no_outputs_named_every_output_comes_back_in_binary(
    server: str, registry: ModelRegistry
) -> None:
    """tritonclient asks for binary_data_output when no outputs are given: labels (BYTES) and
    probabilities (FP64) both come back as binary."""
    rows = np.array([[2.0, 0.1], [-2.0, 0.3]])
    tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows)
    result = client(server).infer("clf", [tensor])
    model = registry.load_version(registry.get_version("clf", 1))
    labels = [v.decode() for v in result.as_numpy("predict")]
    assert labels == model.predict(rows).tolist()
    np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(rows))
    outputs = result.get_response()["outputs"]
    assert all("binary_data_size" in o["parameters"] for o in outputs)


def test_bytes_inputs_go_as_binary_too(
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[[Any], ThreadedServer],
    registry: ModelRegistry,
) -> None:
    model, frame = register_cities(registry)
    url = wait_until_ready(serve_app(create_app(make_settings(models=("cities",)))).url)
    amount = triton.InferInput("amount", [2], "FP64")
    amount.set_data_from_numpy(np.array([1.0, 8.0]))
    city = triton.InferInput("city", [2], "BYTES")
    city.set_data_from_numpy(np.array([b"paris", b"lyon"], dtype=object))
    result = client(url).infer("cities", [amount, city], outputs=[triton.InferRequestedOutput("predict")])
    assert result.as_numpy("predict").tolist() == model.predict(frame.iloc[[0, 3]]).tolist()


def test_an_integer_input_out_of_its_range_is_refused(server: str) -> None:
    body = {"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "UINT8", "data": [1, 2, 300]}]}
    answer = httpx.post(f"{server}/v2/models/lin/infer", json=body)
    assert answer.status_code == 422
    assert "300, out of range for UINT8 (0 to 255)" in answer.json()["error"]
    body["inputs"][0]["data"] = [1, 2, 2.5]
    assert "whole numbers" in httpx.post(f"{server}/v2/models/lin/infer", json=body).json()["error"]


@pytest.mark.parametrize(
    ("header", "tail", "message"),
    [
        ("oops", b"", "is not a length within the body"),
        ("10000", b"", "is not a length within the body"),
        (None, b"\x00" * 7, "no input claims"),
    ],
)
def test_a_malformed_binary_request_gets_a_4xx_naming_the_problem(
    server: str, header: str | None, tail: bytes, message: str
) -> None:
    tensor = {"name": "input-0", "shape": [1, 3], "datatype": "FP64", "parameters": {"binary_data_size": 24}}
    json_head = httpx.Request("POST", "/", json={"inputs": [tensor]}).content
    body = json_head + np.ones(3).tobytes() + tail
    length = str(len(json_head)) if header is None else header
    answer = httpx.post(
        f"{server}/v2/models/lin/infer", content=body, headers={"Inference-Header-Content-Length": length}
    )
    assert 400 <= answer.status_code < 500
    assert message in answer.json()["error"]


@pytest.fixture
def router(
    make_settings: Callable[..., ServerSettings], serve_app: Callable[[Any], ThreadedServer], tmp_path: Path
) -> str:
    """A router in front of two variants, each serving version 1 of ``lin`` and ``clf``."""
    variants = {
        name: wait_until_ready(serve_app(create_app(make_settings(models=("lin:1", "clf")))).url)
        for name in ("A", "B")
    }
    path = experiment_file(tmp_path, variants)
    return wait_until_ready(serve_app(create_app(ServerSettings(experiment=str(path)))).url)


def test_an_integer_label_classifier_declares_the_int64_labels_it_answers(
    registry: ModelRegistry,
    make_settings: Callable[..., ServerSettings],
    serve_app: Callable[[Any], ThreadedServer],
) -> None:
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(2).normal(size=(90, 3))
    registry.register("digits", LogisticRegression().fit(x, np.digitize(x[:, 0], [-0.5, 0.5])))
    registry.promote("digits", 1)
    url = wait_until_ready(serve_app(create_app(make_settings(models=("digits",)))).url)
    outputs = {o["name"]: o for o in client(url).get_model_metadata("digits")["outputs"]}
    assert outputs == {
        "predict": {"name": "predict", "datatype": "INT64", "shape": [-1]},
        "predict_proba": {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 3]},
    }
    tensor = triton.InferInput("input-0", list(ROWS.shape), "FP64")
    tensor.set_data_from_numpy(ROWS)
    result = client(url).infer("digits", [tensor])
    for name, declared in outputs.items():  # every output answers in the datatype the metadata declares
        assert result.get_output(name)["datatype"] == declared["datatype"], name
    assert set(result.as_numpy("predict").tolist()) <= {0, 1, 2}
    assert result.as_numpy("predict_proba").shape == (2, 3)


def test_the_router_passes_binary_requests_and_answers_through(router: str) -> None:
    np.testing.assert_allclose(infer_lin(router, binary=True), ROWS @ COEF + 0.5)
    np.testing.assert_allclose(infer_lin(router, binary=False), ROWS @ COEF + 0.5)


def test_the_router_answers_model_metadata_and_readiness_from_a_variant(router: str) -> None:
    """The router loads no models: a variant (the control, or the X-Unit-ID unit's) answers these."""
    triton_client = client(router)
    assert triton_client.is_model_ready("clf")
    assert triton_client.is_model_ready("lin", "1")
    assert not triton_client.is_model_ready("nope")
    outputs = {o["name"]: o for o in triton_client.get_model_metadata("clf")["outputs"]}
    assert outputs["predict_proba"] == {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]}
    lin = triton_client.get_model_metadata("lin", "1")
    assert (lin["name"], lin["inputs"][0]["shape"]) == ("lin", [-1, 3])
    with pytest.raises(InferenceServerException, match="nope"):
        triton_client.get_model_metadata("nope")
    answer = httpx.get(f"{router}/v2/models/clf", headers={"X-Unit-ID": "user-7"})
    assert answer.status_code == 200
    assert answer.headers["x-mlpy-variant"] in {"A", "B"}
    assert httpx.get(f"{router}/v2/models/clf").headers["x-mlpy-variant"] == "A"


def test_a_client_error_reaches_the_triton_client_as_an_exception_naming_it(server: str) -> None:
    tensor = triton.InferInput("input-0", [1, 2], "FP64")
    tensor.set_data_from_numpy(np.ones((1, 2)))
    with pytest.raises(InferenceServerException, match="has 2 features, the model takes 3"):
        client(server).infer("lin", [tensor])
