"""Adaptive batching: merged calls give each request its own answer, errors stay with their request,
and a request alone is never held back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from mlpy.predlog import read_window
from mlpy.registry import ModelRegistry
from mlpy_server import ServerSettings, create_app
from mlpy_server.batching import BatchPolicy, ModelBatcher, concatenate
from mlpy_server.cache import ModelCache
from mlpy_server.dataplane import DataPlane
from mlpy_server.errors import InvalidInputError
from mlpy_server.metrics import ServerMetrics
from mlpy_server.served import Answer, ServedModel


class SlowModel:
    """Answers 2x the first column after a pause per call (as a tree ensemble's input checks do)."""

    def __init__(self, pause_s: float = 0.02) -> None:
        self.pause_s = pause_s
        self.calls: list[int] = []

    async def predict(self, rows: np.ndarray, probabilities: bool = False) -> Answer:
        self.calls.append(len(rows))
        await asyncio.sleep(self.pause_s)
        if np.isnan(rows).any():
            raise ValueError("Input contains NaN")
        return Answer(rows[:, 0] * 2, np.column_stack([rows[:, 0], -rows[:, 0]]) if probabilities else None)


def one_row(i: int) -> np.ndarray:
    return np.array([[float(i), 1.0]])


def test_concurrent_requests_share_calls_and_each_gets_its_own_answer() -> None:
    model = SlowModel()
    batcher = ModelBatcher(model.predict, BatchPolicy(max_rows=8, max_wait_s=0.005))

    async def run() -> list[Answer]:
        return await asyncio.gather(*(batcher.predict(one_row(i)) for i in range(40)))

    answers = asyncio.run(run())
    assert [a.predictions.tolist() for a in answers] == [[2.0 * i] for i in range(40)]
    assert all(a.probabilities is None for a in answers)
    assert len(model.calls) < 40 / 4  # merged: far fewer calls than requests
    assert max(model.calls) <= 8
    assert batcher.requests == 40


def test_requests_of_several_rows_keep_their_rows_together() -> None:
    model = SlowModel()
    batcher = ModelBatcher(model.predict, BatchPolicy(max_rows=10, max_wait_s=0.005))
    sizes = [1, 3, 2, 4, 1, 5, 2]

    async def run() -> list[Answer]:
        parts = [np.column_stack([np.arange(n) + 100 * k, np.ones(n)]) for k, n in enumerate(sizes)]
        return await asyncio.gather(*(batcher.predict(p) for p in parts))

    answers = asyncio.run(run())
    for k, (n, answer) in enumerate(zip(sizes, answers, strict=True)):
        assert answer.predictions.tolist() == [2.0 * (100 * k + i) for i in range(n)]


def test_probabilities_asked_by_some_requests_come_from_the_merged_call() -> None:
    model = SlowModel()
    batcher = ModelBatcher(model.predict, BatchPolicy(max_rows=8, max_wait_s=0.005))

    async def run() -> list[Answer]:
        return await asyncio.gather(
            *(batcher.predict(one_row(i), probabilities=i % 3 == 0) for i in range(24))
        )

    answers = asyncio.run(run())
    assert len(model.calls) < 24 / 2  # one call answers both outputs, for several requests
    for i, answer in enumerate(answers):
        assert answer.predictions.tolist() == [2.0 * i]
        if i % 3 == 0:
            assert answer.probabilities is not None
            assert answer.probabilities.tolist() == [[float(i), -float(i)]]


def test_a_bad_request_in_a_batch_fails_alone() -> None:
    model = SlowModel()
    batcher = ModelBatcher(model.predict, BatchPolicy(max_rows=16, max_wait_s=0.005))
    bad = np.array([[np.nan, 1.0]])

    async def run() -> list[Any]:
        requests = [batcher.predict(bad if i == 5 else one_row(i)) for i in range(12)]
        return await asyncio.gather(*requests, return_exceptions=True)

    answers = asyncio.run(run())
    assert isinstance(answers[5], ValueError)
    for i, answer in enumerate(answers):
        if i != 5:
            assert answer.predictions.tolist() == [2.0 * i], i


def test_a_request_alone_is_not_held_for_the_window() -> None:
    model = SlowModel(pause_s=0.0)
    batcher = ModelBatcher(model.predict, BatchPolicy(max_rows=32, max_wait_s=1.0))

    async def run() -> float:
        started = time.perf_counter()
        await batcher.predict(one_row(1))
        return time.perf_counter() - started

    assert asyncio.run(run()) < 0.2  # far less than the one-second window


def test_the_added_wait_is_bounded() -> None:
    """Requests queued behind a running call wait at most max_wait_s more for company."""
    call_s, max_wait_s, slack_s = 0.05, 0.2, 0.1
    model = SlowModel(pause_s=call_s)
    batcher = ModelBatcher(model.predict, BatchPolicy(max_rows=100, max_wait_s=max_wait_s))

    async def answered_at(i: int) -> float:
        await batcher.predict(one_row(i))
        return time.perf_counter()

    async def run() -> list[float]:
        return await asyncio.gather(*(answered_at(i) for i in range(3)))

    first, *queued = asyncio.run(run())
    # Once the first call ends, the two queued requests wait at most max_wait_s for company (none
    # comes: far fewer than max_rows), then share one call.
    assert max(queued) - first < max_wait_s + call_s + slack_s
    assert model.calls == [1, 2]


def test_frames_are_appended_and_arrays_stacked() -> None:
    frames = [pd.DataFrame({"a": [1], "b": ["x"]}), pd.DataFrame({"a": [2, 3], "b": ["y", "z"]})]
    merged = concatenate(frames)
    assert merged["a"].tolist() == [1, 2, 3]
    assert list(merged.index) == [0, 1, 2]
    assert concatenate([np.ones((1, 2)), np.zeros((2, 2))]).shape == (3, 2)


def forest() -> ServedModel:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(x, (x[:, 0] > 0).astype(int))
    return ServedModel.build(
        name="forest",
        version="1",
        model=model,
        source="test",
        artifact_uri="memory://forest",
        sha256="0" * 64,
        format="skops",
        signature=None,
    )


def test_the_data_plane_batches_a_tree_model_and_answers_as_unbatched() -> None:
    served = forest()
    cache = ModelCache()
    cache.put("forest", served)
    plane = DataPlane(
        cache, ServerMetrics(), inline_rows=256, max_batch_rows=100, batching=BatchPolicy(32, 0.005)
    )
    rows = np.random.default_rng(1).normal(size=(64, 4))

    async def run() -> list[Answer]:
        return await asyncio.gather(
            *(plane.answer(served, rows[i : i + 1], probabilities=i % 2 == 0) for i in range(64))
        )

    answers = asyncio.run(run())
    unbatched = [served.model.predict(rows[i : i + 1]).tolist() for i in range(64)]
    assert [a.predictions.tolist() for a in answers] == unbatched
    for i in range(0, 64, 2):
        probabilities = answers[i].probabilities
        assert probabilities is not None
        assert probabilities.tolist() == served.model.predict_proba(rows[i : i + 1]).tolist()
    batcher = plane.batcher(served)
    assert batcher is not None
    assert batcher.requests == 64
    assert batcher.calls < 64


def test_batching_is_off_by_default_and_for_the_linear_shortcut() -> None:
    served = forest()
    assert DataPlane(ModelCache(), ServerMetrics(), inline_rows=1, max_batch_rows=1).batcher(served) is None


def test_bad_input_in_a_batch_is_the_callers_422() -> None:
    served = forest()
    cache = ModelCache()
    cache.put("forest", served)
    plane = DataPlane(cache, ServerMetrics(), inline_rows=0, max_batch_rows=100, batching=BatchPolicy(8))

    async def run() -> list[Any]:
        good = [plane.answer(served, np.zeros((1, 4))) for _ in range(5)]
        return await asyncio.gather(*good, plane.answer(served, np.zeros((1, 3))), return_exceptions=True)

    answers = asyncio.run(run())
    assert isinstance(answers[-1], InvalidInputError)
    assert all(isinstance(a, Answer) for a in answers[:-1])
    with pytest.raises(InvalidInputError, match="cannot predict on this input"):
        raise answers[-1]


def test_settings_read_the_batching_variables_and_refuse_bad_ones() -> None:
    from mlpy_server.errors import ServerConfigError
    from mlpy_server.settings import ServerSettings

    settings = ServerSettings.from_env({"MLPY_BATCHING_MAX_ROWS": "32", "MLPY_BATCHING_MAX_WAIT_MS": "2"})
    assert (settings.batching_max_rows, settings.batching_max_wait_s) == (32, 0.002)
    assert ServerSettings.from_env({}).batching_max_rows == 0
    with pytest.raises(ServerConfigError, match="MLPY_BATCHING_MAX_ROWS"):
        ServerSettings.from_env({"MLPY_BATCHING_MAX_ROWS": "-1"})
    with pytest.raises(ServerConfigError, match="MLPY_BATCHING_MAX_WAIT_MS"):
        ServerSettings.from_env({"MLPY_BATCHING_MAX_WAIT_MS": "soon"})


def test_a_batching_server_answers_concurrent_requests_each_with_its_own(
    registry: ModelRegistry, make_settings: Callable[..., ServerSettings], serve_app: Callable[..., Any]
) -> None:
    """Over HTTP, 48 concurrent one-row requests to a forest: each gets the model's own answer and
    its own request id; the malformed one its 422; the predict calls were shared; and the prediction
    log holds one row per answered request, under its id, with its features and its prediction."""
    import httpx

    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3))
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, (x[:, 1] > 0).astype(int))
    registry.register("forest", model)
    settings = make_settings(
        models=("forest:1",),
        batching_max_rows=16,
        batching_max_wait_s=0.01,
        predlog_sample_rate=1.0,
        predlog_store_url=registry.store.url,
    )
    app = create_app(settings)
    server = serve_app(app)
    rows = rng.normal(size=(48, 3))

    def post(i: int) -> httpx.Response:
        features = [1.0, 2.0] if i == 7 else rows[i].tolist()
        return httpx.post(f"{server.url}/predict", json={"features": features}, timeout=30)

    deadline = time.monotonic() + 20
    while httpx.get(f"{server.url}/readyz").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, range(48)))
    assert answers[7].status_code == 422
    expected = model.predict(rows).tolist()
    for i, answer in enumerate(answers):
        if i != 7:
            assert answer.status_code == 200, answer.text
            assert answer.json()["prediction"] == expected[i]
    assert len({a.json()["request_id"] for a in answers}) == 48
    served = app.state.mlpy.cache.get("forest:1")
    batcher = app.state.mlpy.plane.batcher(served)
    assert batcher is not None
    assert batcher.requests == 47
    assert batcher.calls < 47
    shown = httpx.get(f"{server.url}/models/forest:1").json()["batching"]
    assert shown == {"max_rows": 16, "max_wait_ms": 10.0, "calls": batcher.calls, "requests": 47}
    app.state.mlpy.predlog.flush()
    now = datetime.now(UTC)
    logged = read_window(registry.store.url, "forest", now - timedelta(minutes=5), now + timedelta(minutes=5))
    assert len(logged) == 47
    by_id = logged.set_index("request_id")
    for i, answer in enumerate(answers):
        if i != 7:
            row = by_id.loc[answer.json()["request_id"]]
            assert row["prediction"] == answer.json()["prediction"]
            assert [row["x0"], row["x1"], row["x2"]] == pytest.approx(rows[i].tolist())


def test_each_model_may_batch_its_own_way() -> None:
    from mlpy_server import ServerSettings
    from mlpy_server.errors import ServerConfigError

    settings = ServerSettings.from_env(
        {"MLPY_BATCHING_MAX_ROWS": "16", "MLPY_BATCHING_MODELS": "forest=64, churn=0,pipeline=32:2"}
    )
    assert settings.batching_models == (("forest", 64, 0.005), ("churn", 0, 0.005), ("pipeline", 32, 0.002))
    for bad in ("forest", "forest=x", "=3", "forest=8:5000", "forest=-1"):
        with pytest.raises(ServerConfigError, match="MLPY_BATCHING_MODELS entry"):
            ServerSettings.from_env({"MLPY_BATCHING_MODELS": bad})
