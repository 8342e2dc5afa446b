"""The Open Inference Protocol over gRPC, driven by NVIDIA's own gRPC client (tritonclient.grpc) and by
raw messages in the typed ``contents`` form: health, metadata, inference (BYTES too), errors, auth."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

from localk8s import free_port
from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app
from mlpy_server.auth import hash_key
from mlpy_server.errors import ServerError
from mlpy_server.state import ServerState
from mlpy_server.v2_grpc import SERVICE, messages
from tests.unit.server.conftest import (
    COEF,
    ThreadedServer,
    experiment_file,
    register_cities,
    wait_until_ready,
)

ROWS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])
REPO = Path(__file__).resolve().parents[3]


class Served:
    """A real server with its HTTP and gRPC ports."""

    def __init__(self, http: ThreadedServer, grpc_port: int) -> None:
        self.http, self.grpc_port = http, grpc_port

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def client(self) -> triton.InferenceServerClient:
        return triton.InferenceServerClient(self.target)


@pytest.fixture
def start(
    make_settings: Callable[..., ServerSettings], serve_app: Callable[[Any], ThreadedServer]
) -> Callable[..., Served]:
    def run(**overrides: Any) -> Served:
        port = free_port()
        http = serve_app(create_app(make_settings(grpc_port=port, **overrides)))
        wait_until_ready(http.url)
        return Served(http, port)

    return run


@pytest.fixture
def served(start: Callable[..., Served]) -> Served:
    return start(models=("lin", "clf"))


def lin_input() -> triton.InferInput:
    tensor = triton.InferInput("input-0", list(ROWS.shape), "FP64")
    tensor.set_data_from_numpy(ROWS)
    return tensor


def test_health_and_metadata_over_grpc(served: Served) -> None:
    client = served.client()
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("clf")
    assert client.is_model_ready("lin", "1")
    assert not client.is_model_ready("nothing-here")
    server = client.get_server_metadata(as_json=True)
    assert server["name"] == "mlpy"
    assert "binary_tensor_data" in server["extensions"]
    clf = client.get_model_metadata("clf", as_json=True)
    assert clf["platform"] == "sklearn"
    outputs = {o["name"]: o for o in clf["outputs"]}
    assert outputs["predict"]["datatype"] == "BYTES"
    assert outputs["predict_proba"] == {"name": "predict_proba", "datatype": "FP64", "shape": ["-1", "2"]}
    lin = client.get_model_metadata("lin", as_json=True)
    assert lin["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": ["-1", "3"]}]


def test_inference_over_grpc_answers_as_http_does(served: Served) -> None:
    result = served.client().infer("lin", [lin_input()], outputs=[triton.InferRequestedOutput("predict")])
    np.testing.assert_allclose(result.as_numpy("predict"), ROWS @ COEF + 0.5)
    response = result.get_response(as_json=True)
    assert (response["model_name"], response["model_version"]) == ("lin", "1")
    over_http = httpx.post(
        f"{served.http.url}/v2/models/lin/infer",
        json={
            "inputs": [
                {"name": "input-0", "shape": [2, 3], "datatype": "FP64", "data": ROWS.ravel().tolist()}
            ]
        },
    ).json()
    assert over_http["outputs"][0]["data"] == result.as_numpy("predict").tolist()


def test_with_no_outputs_named_labels_and_probabilities_come_back(
    served: Served, registry: ModelRegistry
) -> None:
    rows = np.array([[2.0, 0.1], [-2.0, 0.3]])
    tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows)
    result = served.client().infer("clf", [tensor])
    model = registry.load_version(registry.get_version("clf", 1))
    assert [v.decode() for v in result.as_numpy("predict")] == model.predict(rows).tolist()
    np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(rows))


def test_bytes_inputs_one_tensor_per_column(start: Callable[..., Served], registry: ModelRegistry) -> None:
    model, frame = register_cities(registry)
    served = start(models=("cities",))
    amount = triton.InferInput("amount", [2], "FP64")
    amount.set_data_from_numpy(np.array([1.0, 8.0]))
    city = triton.InferInput("city", [2], "BYTES")
    city.set_data_from_numpy(np.array([b"paris", b"lyon"], dtype=object))
    result = served.client().infer("cities", [amount, city], outputs=[triton.InferRequestedOutput("predict")])
    assert result.as_numpy("predict").tolist() == model.predict(frame.iloc[[0, 3]]).tolist()


def call(target: str, method: str, request: Any, metadata: tuple[tuple[str, str], ...] = ()) -> Any:
    """One call with mlpy's own message classes: the typed ``contents`` form tritonclient never sends."""
    found = messages()
    with grpc.insecure_channel(target) as channel:
        stub = channel.unary_unary(
            f"/{SERVICE}/{method}",
            request_serializer=found[f"{method}Request"].SerializeToString,
            response_deserializer=found[f"{method}Response"].FromString,
        )
        return stub(request, timeout=10, metadata=metadata)


def test_tensors_in_typed_contents_are_read_too(served: Served) -> None:
    request = messages()["ModelInferRequest"](model_name="lin", id="my-call")
    tensor = request.inputs.add(name="input-0", datatype="FP64", shape=[2, 3])
    tensor.contents.fp64_contents.extend(ROWS.ravel().tolist())
    answer = call(served.target, "ModelInfer", request)
    assert answer.id == "my-call"
    assert [o.name for o in answer.outputs] == ["predict"]
    np.testing.assert_allclose(np.frombuffer(answer.raw_output_contents[0], "<f8"), ROWS @ COEF + 0.5)
    text = messages()["ModelInferRequest"](model_name="lin")
    bad = text.inputs.add(name="input-0", datatype="FP16", shape=[1, 3])
    bad.contents.fp32_contents.extend([1.0, 2.0, 3.0])
    with pytest.raises(grpc.RpcError) as refused:
        call(served.target, "ModelInfer", text)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "send FP16 tensors in raw_input_contents" in (refused.value.details() or "")


def test_client_errors_are_grpc_statuses_naming_the_problem(served: Served) -> None:
    client = served.client()
    tensor = triton.InferInput("input-0", [1, 2], "FP64")
    tensor.set_data_from_numpy(np.ones((1, 2)))
    with pytest.raises(InferenceServerException, match="has 2 features, the model takes 3") as wrong:
        client.infer("lin", [tensor])
    assert wrong.value.status() == "StatusCode.INVALID_ARGUMENT"
    with pytest.raises(InferenceServerException, match="nothing-here") as missing:
        client.infer("nothing-here", [lin_input()])
    assert missing.value.status() == "StatusCode.NOT_FOUND"
    shown = httpx.get(f"{served.http.url}/metrics").text
    assert 'endpoint="/inference.GRPCInferenceService/ModelInfer"' in shown
    # An unknown model is counted without its name: callers cannot mint label values.
    assert 'model="nothing-here"' not in shown


def test_credentials_travel_as_metadata(start: Callable[..., Served]) -> None:
    served = start(models=("lin",), api_keys=(f"app:predict:{hash_key('s3cret-key')}",))
    client = served.client()
    assert client.is_server_live()  # health needs no credential, as over HTTP
    with pytest.raises(InferenceServerException, match="needs a credential") as refused:
        client.infer("lin", [lin_input()])
    assert refused.value.status() == "StatusCode.UNAUTHENTICATED"
    for headers in ({"authorization": "Bearer s3cret-key"}, {"x-api-key": "s3cret-key"}):
        result = client.infer("lin", [lin_input()], headers=headers)
        np.testing.assert_allclose(result.as_numpy("predict"), ROWS @ COEF + 0.5)


def test_the_router_refuses_a_grpc_port_it_would_not_serve(tmp_path: Path) -> None:
    path = experiment_file(tmp_path, {n: "http://127.0.0.1:1" for n in "AB"}, name="ab")
    state = ServerState(ServerSettings(experiment=str(path), grpc_port=free_port()))
    with pytest.raises(ServerError, match="the A/B router forwards HTTP only"):
        asyncio.run(state.start())


def test_settings_read_the_grpc_port() -> None:
    from mlpy_server.errors import ServerConfigError

    assert ServerSettings.from_env({}).grpc_port is None
    settings = ServerSettings.from_env({"MLPY_GRPC_PORT": "8001", "MLPY_GRPC_HOST": "0.0.0.0"})
    assert (settings.grpc_port, settings.grpc_host) == (8001, "0.0.0.0")
    with pytest.raises(ServerConfigError, match="MLPY_GRPC_PORT=70000 is not a port"):
        ServerSettings.from_env({"MLPY_GRPC_PORT": "70000"})


def test_the_committed_descriptor_set_matches_the_proto() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "grpc_descriptors.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
