"""The linear shortcut: used only where it reproduces predict exactly, and visible on /models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import ElasticNet, LinearRegression, LogisticRegression, Ridge, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeRegressor

from mlpy_server.fastpath import compile_predictor

RNG = np.random.default_rng(3)
X = RNG.normal(size=(80, 4))
Y = X @ np.array([1.0, -2.0, 0.5, 3.0])
LABELS = np.where(Y > 0, "up", "down")
THREE = np.digitize(Y, [-1.0, 1.0])


@pytest.mark.parametrize(
    ("model", "target"),
    [
        (LinearRegression(), Y),
        (Ridge(), Y),
        (ElasticNet(alpha=0.01), Y),
        (LinearRegression(), np.c_[Y, -Y]),
        (LogisticRegression(), LABELS),
        (LogisticRegression(), THREE),
        (LinearSVC(), LABELS),
        (SGDClassifier(random_state=0), THREE),
    ],
)
def test_shortcut_equals_predict(model: Any, target: np.ndarray) -> None:
    model.fit(X, target)
    shortcut = compile_predictor(model, 4)
    assert shortcut is not None
    probe = RNG.normal(scale=5, size=(200, 4))
    expected = model.predict(probe)
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(shortcut(probe), expected, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(shortcut(probe), expected)


@pytest.mark.parametrize(
    "model",
    [DecisionTreeRegressor().fit(X, Y), make_pipeline(StandardScaler(), LinearRegression()).fit(X, Y)],
)
def test_other_models_keep_their_own_predict(model: Any) -> None:
    assert compile_predictor(model, 4) is None


def test_wrong_width_or_a_tampered_model_gets_no_shortcut() -> None:
    model = LinearRegression().fit(X, Y)
    assert compile_predictor(model, 3) is None

    class Tampered(LinearRegression):
        def predict(self, x: Any) -> Any:  # type: ignore[override]
            return super().predict(x) + 1.0

    tampered = Tampered().fit(X, Y)
    assert compile_predictor(tampered, 4) is None


def test_server_reports_and_can_disable_the_fast_path(make_client: Callable[..., TestClient]) -> None:
    fast = make_client()
    plain = make_client(fast_predict=False)
    assert fast.get("/models/lin").json()["fast_path"] is True
    assert plain.get("/models/lin").json()["fast_path"] is False
    body = {"instances": [[1, 2, 3], [-4, 0.5, 2]]}
    fast_answer = fast.post("/predict/batch", json=body).json()["predictions"]
    plain_answer = plain.post("/predict/batch", json=body).json()["predictions"]
    assert fast_answer == pytest.approx(plain_answer, rel=1e-12)


def test_monitoring_is_fed_off_the_request_path(make_client: Callable[..., TestClient]) -> None:
    client = make_client(monitoring=True)
    for _ in range(3):
        assert client.post("/predict", json={"features": [1, 2, 3]}).status_code == 200
    state = client.app.state.mlpy  # type: ignore[attr-defined]
    assert state.monitoring.flush() == 1
