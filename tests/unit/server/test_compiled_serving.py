"""MLPY_COMPILED: a tree ensemble served by ONNX Runtime once it agrees, scikit-learn otherwise, and
/models says which and why."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.ensemble import RandomForestClassifier

import mlpy.compiled.onnx as onnx_module
import mlpy.compiled.trees as trees_module
from mlpy.registry import ModelRegistry
from tests.unit.compiled.lying import lie_on
from tests.unit.server.conftest import wait_until_ready

NAMES = ["age", "income", "score"]
SIGNATURE = {"inputs": [{"name": n, "type": "number"} for n in NAMES]}


def fitted(flip: bool = False) -> RandomForestClassifier:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(500, 3)) * [10.0, 1000.0, 1.0]
    y = ((x[:, 0] / 10 + x[:, 2] > 0) != flip).astype(int)
    return RandomForestClassifier(n_estimators=12, max_depth=6, random_state=0).fit(x, y)


@pytest.fixture
def forest(registry: ModelRegistry) -> RandomForestClassifier:
    model = fitted()
    registry.register("forest", model, signature=SIGNATURE)
    registry.promote("forest", 1)
    return model


ROWS = np.random.default_rng(12).normal(size=(40, 3)) * [10.0, 1000.0, 1.0]


def predictions(client: TestClient) -> tuple[list[Any], list[list[float]]]:
    labels = [
        client.post(
            "/predict", json={"model": "forest", "features": dict(zip(NAMES, row, strict=True))}
        ).json()["prediction"]
        for row in ROWS.tolist()
    ]
    body = {
        "inputs": [
            {"name": "x", "shape": list(ROWS.shape), "datatype": "FP64", "data": ROWS.ravel().tolist()}
        ],
        "outputs": [{"name": "predict_proba"}],
    }
    answer = client.post("/v2/models/forest/infer", json=body)
    assert answer.status_code == 200, answer.text
    proba = answer.json()["outputs"][0]["data"]
    return labels, np.asarray(proba).reshape(len(ROWS), -1).tolist()


def test_a_forest_is_served_compiled_with_scikit_learns_answers(
    make_client: Callable[..., TestClient], forest: RandomForestClassifier
) -> None:
    client = make_client(models=("forest",), compiled=True)
    shown = client.get("/models/forest").json()
    assert shown["prediction_path"] == "compiled (ONNX Runtime)"
    assert shown["compiled"]["used"] is True
    assert shown["compiled"]["verified_rows"] == 512
    labels, proba = predictions(client)
    assert labels == forest.predict(ROWS).tolist()
    assert np.allclose(proba, forest.predict_proba(ROWS), atol=1e-5)


EXAMPLE = ROWS[:5]


def served_after_lying_on(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch, rows: Any, lying: bool
) -> dict[str, Any]:
    """``/models/forest`` of a compiling server, its engines wrong on ``rows`` alone when ``lying``
    (the probes never meet them), else what a right engine gets."""
    if lying:
        lie_on(monkeypatch, rows)
        shown = make_client(models=("forest",), compiled=True).get("/models/forest").json()
        assert shown["prediction_path"] == "scikit-learn predict"
        assert "disagrees with scikit-learn" in shown["compiled"]["reason"]
        return dict(shown)
    shown = make_client(models=("forest",), compiled=True).get("/models/forest").json()
    assert shown["prediction_path"] == "compiled (ONNX Runtime)"
    return dict(shown["compiled"])


@pytest.mark.parametrize("lying", [False, True], ids=["agreeing engine", "engine wrong on the example"])
def test_the_server_verifies_on_the_registered_input_example_too(
    make_client: Callable[..., TestClient],
    registry: ModelRegistry,
    monkeypatch: pytest.MonkeyPatch,
    lying: bool,
) -> None:
    """The check at load runs on the example's rows as the one at registration does: an engine
    wrong on those rows alone is refused."""
    registry.register("forest", fitted(), input_example=pd.DataFrame(EXAMPLE, columns=NAMES))
    registry.promote("forest", 1)
    shown = served_after_lying_on(make_client, monkeypatch, EXAMPLE, lying)
    if not lying:
        assert (shown["verified_rows"], shown["example_rows"]) == (512 + 5, 5)


@pytest.mark.parametrize("lying", [False, True], ids=["agreeing engine", "engine wrong on the sample"])
def test_the_server_verifies_on_the_versions_stored_sample(
    make_client: Callable[..., TestClient],
    registry: ModelRegistry,
    monkeypatch: pytest.MonkeyPatch,
    lying: bool,
) -> None:
    """Registered with validation data, a version keeps 200 of its rows; the server's check runs
    on them, so an engine wrong only on real rows is refused."""
    model = fitted()
    x = np.random.default_rng(14).normal(size=(300, 3)) * [10.0, 1000.0, 1.0]
    version = registry.register(
        "forest", model, signature=SIGNATURE, validation=(pd.DataFrame(x, columns=NAMES), model.predict(x))
    )
    registry.promote("forest", 1)
    assert version.signature is not None
    sample = np.asarray(version.signature["sample"])
    assert sample.shape == (200, 3)
    shown = served_after_lying_on(make_client, monkeypatch, sample[-3:], lying)
    if not lying:
        assert (shown["verified_rows"], shown["sample_rows"]) == (512 + 200, 200)


class CountingEngine:
    """A compiled model's engine that counts its runs."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.runs = 0

    def __call__(self, features: Any) -> Any:
        self.runs += 1
        return self.engine(features)


@pytest.mark.parametrize("max_rows", [0, 8], ids=["one by one", "batching queue"])
def test_labels_and_probabilities_asked_together_take_one_run_of_the_model(
    make_client: Callable[..., TestClient], forest: RandomForestClassifier, max_rows: int
) -> None:
    """With no outputs named, the protocol answers every output: a compiled classifier runs once."""
    client = make_client(models=("forest",), compiled=True, batching_max_rows=max_rows)
    compiled = client.app.state.mlpy.plane.model("forest").compiled  # type: ignore[attr-defined]
    counting = compiled.engine = CountingEngine(compiled.engine)
    rows = ROWS[:2]
    body = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": rows.ravel().tolist()}]}
    answer = client.post("/v2/models/forest/infer", json=body)
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
    assert outputs["predict"] == forest.predict(rows).tolist()
    assert np.allclose(outputs["predict_proba"], forest.predict_proba(rows).ravel(), atol=1e-5)
    assert counting.runs == 1


def test_a_disagreeing_compiled_model_is_refused_and_scikit_learn_serves(
    make_client: Callable[..., TestClient], forest: RandomForestClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_convert, real_treelite = onnx_module._convert, trees_module.treelite_engine
    flipped = fitted(flip=True)
    monkeypatch.setattr(onnx_module, "_convert", lambda _model, *args: real_convert(flipped, *args))
    monkeypatch.setattr(trees_module, "treelite_engine", lambda _model, names: real_treelite(flipped, names))
    client = make_client(models=("forest",), compiled=True)
    shown = client.get("/models/forest").json()
    assert shown["prediction_path"] == "scikit-learn predict"
    assert shown["compiled"]["used"] is False
    assert "disagrees with scikit-learn" in shown["compiled"]["reason"]
    labels, proba = predictions(client)
    assert labels == forest.predict(ROWS).tolist()
    assert np.allclose(proba, forest.predict_proba(ROWS))


def test_compiled_is_off_by_default_and_linear_models_keep_their_shortcut(
    make_client: Callable[..., TestClient], forest: RandomForestClassifier
) -> None:
    client = make_client(models=("forest", "lin"))
    assert client.get("/models/forest").json()["compiled"] is None
    client = make_client(models=("forest", "lin"), compiled=True)
    lin = client.get("/models/lin").json()
    assert (lin["prediction_path"], lin["compiled"]) == ("linear shortcut", None)


def test_metrics_name_each_models_path_and_count_batched_calls(
    make_client: Callable[..., TestClient], forest: RandomForestClassifier
) -> None:
    client = make_client(models=("forest", "lin"), compiled=True, batching_max_rows=8)
    for row in ROWS[:3].tolist():
        body = {"model": "forest", "features": dict(zip(NAMES, row, strict=True))}
        assert client.post("/predict", json=body).status_code == 200
    text = client.get("/metrics").text
    info = {
        line.split('id="')[1].split('"')[0]: line
        for line in text.splitlines()
        if line.startswith("mlpy_model_info{")
    }
    assert 'path="compiled (ONNX Runtime)"' in info["forest"]
    assert 'path="linear shortcut"' in info["lin"]
    # One request at a time: each is its own call, counted once (the linear model is never batched).
    assert 'mlpy_batching_calls_total{model="forest",version="1"} 3.0' in text
    assert 'mlpy_batching_requests_total{model="forest",version="1"} 3.0' in text
    assert 'mlpy_batching_calls_total{model="lin"' not in text


def test_a_models_own_batching_overrides_the_servers(
    make_client: Callable[..., TestClient], forest: RandomForestClassifier
) -> None:
    client = make_client(models=("forest", "clf"), batching_models=(("forest", 8, 0.002),))
    assert client.get("/models/forest").json()["batching"] == {
        "max_rows": 8,
        "max_wait_ms": 2.0,
        "calls": 0,
        "requests": 0,
    }
    assert client.get("/models/clf").json()["batching"] is None  # not named: the server default (off)


def test_a_model_set_to_zero_is_not_batched_when_the_server_batches(
    make_client: Callable[..., TestClient], registry: ModelRegistry, forest: RandomForestClassifier
) -> None:
    """MLPY_BATCHING_MAX_ROWS on for the server, ``forest=0`` for one model: that one gets no queue
    and each of its requests is its own predict call, while the other model batches."""
    registry.register("trees", fitted(), signature=SIGNATURE)
    registry.promote("trees", 1)
    client = make_client(
        models=("forest", "trees"), batching_max_rows=8, batching_models=(("forest", 0, 0.005),)
    )
    assert client.get("/models/forest").json()["batching"] is None
    assert client.get("/models/trees").json()["batching"]["max_rows"] == 8
    plane = client.app.state.mlpy.plane  # type: ignore[attr-defined]
    assert plane.batcher(plane.model("forest")) is None
    assert plane.batcher(plane.model("trees")) is not None
    labels, _ = predictions(client)
    assert labels == forest.predict(ROWS).tolist()
    text = client.get("/metrics").text
    assert 'mlpy_batching_calls_total{model="forest"' not in text


def boosting_pipeline() -> Any:
    """HistGradientBoosting behind a scaler and a one-hot encoder that refuses unknown categories."""
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(13)
    frame = pd.DataFrame(rng.normal(size=(400, 2)) * [1.0, 100.0], columns=["age", "income"])
    frame["plan"] = rng.choice(["free", "pro", "team"], 400)
    y = (frame["age"] + frame["income"] / 100 > 0) & (frame["plan"] != "free")
    return make_pipeline(
        make_column_transformer((StandardScaler(), ["age", "income"]), (OneHotEncoder(), ["plan"])),
        HistGradientBoostingClassifier(max_iter=15, random_state=0),
    ).fit(frame, y), frame


def test_a_boosting_pipeline_is_served_by_treelite_and_a_bad_row_in_a_batch_fails_alone(
    registry: ModelRegistry, make_settings: Callable[..., Any], serve_app: Callable[..., Any]
) -> None:
    """Over HTTP, 24 concurrent one-row OIP v2 requests (text as BYTES) merged into shared calls of
    the treelite engine: each gets scikit-learn's answer, the one with an unknown category its 422."""
    import httpx

    from mlpy_server.app import create_app

    model, frame = boosting_pipeline()
    signature = {
        "inputs": [
            {"name": "age", "type": "number"},
            {"name": "income", "type": "number"},
            {"name": "plan", "type": "string"},
        ]
    }
    registry.register("boost", model, signature=signature)
    settings = make_settings(
        models=("boost:1",), compiled=True, batching_max_rows=8, batching_max_wait_s=0.02
    )
    server = serve_app(create_app(settings))
    wait_until_ready(server.url)
    shown = httpx.get(f"{server.url}/models/boost:1").json()
    assert shown["prediction_path"] == "compiled (treelite)"
    assert shown["compiled"]["engine"] == "treelite"
    assert "ONNX Runtime" in shown["compiled"]["passed_over"]

    rows = frame.iloc[:24].to_dict("records")
    rows[5] = {**rows[5], "plan": "enterprise"}  # a category the encoder never saw, and refuses

    def infer(row: dict[str, Any]) -> httpx.Response:
        body = {
            "inputs": [
                {"name": "age", "shape": [1], "datatype": "FP64", "data": [row["age"]]},
                {"name": "income", "shape": [1], "datatype": "FP64", "data": [row["income"]]},
                {"name": "plan", "shape": [1], "datatype": "BYTES", "data": [row["plan"]]},
            ]
        }
        return httpx.post(f"{server.url}/v2/models/boost/infer", json=body, timeout=30)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(infer, rows))
    expected = model.predict(frame.iloc[:24]).tolist()
    for i, answer in enumerate(answers):
        if i == 5:
            assert answer.status_code == 422, answer.text
            assert "unknown categor" in answer.json()["error"]
            continue
        assert answer.status_code == 200, answer.text
        outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
        assert outputs["predict"] == [expected[i]]
    batching = httpx.get(f"{server.url}/models/boost:1").json()["batching"]
    assert batching["calls"] < batching["requests"]  # the requests were merged
