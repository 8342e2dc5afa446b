"""Pipelines whose column transformer picks columns by name are served from a file with no signature.

Before, a model registered without an input example (``mlpy registry register NAME model.skops``, or a
pod given only ``MLPY_MODEL_URI``) was taken to have numeric features, got an ndarray, and never
became ready: "Specifying the columns using strings is only supported for dataframes".
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from fastapi.testclient import TestClient
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlpy.registry import ModelRegistry
from mlpy.registry.signature import (
    infer_signature,
    selects_columns_by_name,
    takes_named_columns,
    text_features,
)
from mlpy_server import ServerSettings, create_app
from tests.unit.server.conftest import wait_ready

ROW = {"age": 41.0, "income": 52000.0, "region": "north"}


def named_pipeline(numeric_only: bool = False) -> Pipeline:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, 300),
            "income": rng.lognormal(10, 0.4, 300),
            "region": rng.choice(["north", "south"], 300),
        }
    )
    target = (frame["age"] > 40).astype(int)
    branches: list[tuple[object, list[str]]] = [(StandardScaler(), ["age", "income"])]
    if not numeric_only:
        branches.append((OneHotEncoder(handle_unknown="ignore"), ["region"]))
    else:
        frame = frame.drop(columns="region")
    encode = make_column_transformer(*branches)
    return make_pipeline(encode, LogisticRegression()).fit(frame, target)


def test_the_signature_of_a_bare_model_knows_its_text_columns() -> None:
    model = named_pipeline()
    assert text_features(model) == {"region"}
    assert selects_columns_by_name(model)
    signature = infer_signature(model)
    assert signature is not None
    assert signature["inputs"] == [
        {"name": "age", "type": "number"},
        {"name": "income", "type": "number"},
        {"name": "region", "type": "string"},
    ]
    plain = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    assert not selects_columns_by_name(plain)
    # A DataFrame, not a matrix: for a transformer that selects by name, or any text input.
    assert takes_named_columns(named_pipeline(numeric_only=True), ["number", "number"])
    assert takes_named_columns(plain, ["string"])
    assert not takes_named_columns(plain, ["number", "integer"])


@pytest.mark.parametrize("numeric_only", [False, True], ids=["with-text", "numeric-by-name"])
def test_a_file_registered_without_example_is_served(
    numeric_only: bool, tmp_path: Path, sqlite_url: str
) -> None:
    path = tmp_path / "model.skops"
    sio.dump(named_pipeline(numeric_only), path)
    registry = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    registry.register_file("credit", path)
    registry.promote("credit", 1)
    settings = ServerSettings(
        models=("credit",), store_url=sqlite_url, artifacts_url=str(tmp_path / "artifacts")
    )
    row = {k: v for k, v in ROW.items() if not (numeric_only and k == "region")}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        single = client.post("/predict", json={"features": row})
        assert single.status_code == 200, single.text
        assert single.json()["prediction"] in (0, 1)
        batch = client.post("/predict/batch", json={"instances": [row, list(row.values())]})
        assert batch.status_code == 200, batch.text
        tensors = [
            {"name": k, "shape": [1], "datatype": "BYTES" if isinstance(v, str) else "FP64", "data": [v]}
            for k, v in row.items()
        ]
        infer = client.post("/v2/models/credit/infer", json={"inputs": tensors})
        assert infer.status_code == 200, infer.text


def test_a_pod_given_only_the_artifact_uri_serves_it(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    sio.dump(named_pipeline(), path)
    settings = ServerSettings.from_env(
        {
            "MLPY_MODEL_URI": str(path),
            "MLPY_MODEL_SHA256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "MLPY_MODEL_NAME": "credit",
        }
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        described = client.get("/models/credit").json()
        assert [i["type"] for i in described["inputs"]] == ["number", "number", "string"]
        answer = client.post("/predict", json={"features": ROW})
        assert answer.status_code == 200, answer.text
