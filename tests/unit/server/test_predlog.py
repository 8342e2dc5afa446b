"""The prediction log: sampled, bounded, batched, outcomes attached, and read back by window."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from localk8s import free_port
from mlpy.predlog import (
    InvalidWindowError,
    LoggedPrediction,
    PredictionLogError,
    PredictionLogger,
    read_window,
)
from mlpy.predlog.reader import export_window


def entry(request_id: str, rows: int = 1) -> LoggedPrediction:
    return LoggedPrediction(
        request_id,
        "m",
        "1",
        [[i, i + 1] for i in range(rows)],
        [float(i) for i in range(rows)],
        feature_names=("a", "b"),
    )


def window(store_url: str, **filters: object) -> object:
    now = datetime.now(UTC)
    return read_window(store_url, "m", now - timedelta(hours=1), now + timedelta(hours=1), **filters)  # type: ignore[arg-type]


def test_batches_are_written_and_read_back_with_named_features(store_url: str) -> None:
    logger = PredictionLogger(store_url, batch_size=2)
    logger.start()
    for i in range(5):
        assert logger.offer(entry(f"r{i}", rows=2))
    logger.flush()
    logger.record_outcome("r3", 42.0)
    logger.stop()
    frame = window(store_url)
    assert len(frame) == 10  # type: ignore[arg-type]
    assert list(frame.columns[-2:]) == ["a", "b"]  # type: ignore[attr-defined]
    assert frame[frame.request_id == "r3"].outcome.tolist() == [42.0, 42.0]  # type: ignore[attr-defined,index]
    assert logger.counters.written == 5
    assert logger.counters.outcomes == 1
    only_outcomes = window(store_url, with_outcome_only=True)
    assert only_outcomes.request_id.unique().tolist() == ["r3"]  # type: ignore[attr-defined]


def test_overload_drops_and_counts_instead_of_blocking(sqlite_url: str) -> None:
    logger = PredictionLogger(sqlite_url, queue_size=3)  # not started: nothing drains the queue
    started = time.perf_counter()
    accepted = [logger.offer(entry(f"r{i}")) for i in range(10)]
    assert time.perf_counter() - started < 0.5
    assert accepted.count(True) == 3
    assert logger.counters.dropped == 7


def test_sampling(sqlite_url: str) -> None:
    draws = iter([0.05, 0.5, 0.09, 0.99])
    logger = PredictionLogger(sqlite_url, sample_rate=0.1, rng=lambda: next(draws))
    assert [logger.offer(entry(f"r{i}")) for i in range(4)] == [True, False, True, False]
    assert logger.counters.sampled_out == 2
    with pytest.raises(PredictionLogError, match="between 0 and 1"):
        PredictionLogger(sqlite_url, sample_rate=1.5)


def test_outcome_queued_right_after_its_prediction_is_applied(sqlite_url: str) -> None:
    logger = PredictionLogger(sqlite_url)
    logger.offer(entry("late"))
    logger.record_outcome("late", {"label": "yes"})
    logger.flush()  # not started: drains inline, outcomes after their inserts
    frame = window(sqlite_url)
    assert frame.outcome.tolist() == [{"label": "yes"}]  # type: ignore[attr-defined]


def test_window_validation_and_export(sqlite_url: str, tmp_path: object) -> None:
    now = datetime.now(UTC)
    with pytest.raises(InvalidWindowError, match="timezone-aware"):
        read_window(sqlite_url, "m", datetime(2026, 1, 1), now)
    with pytest.raises(InvalidWindowError, match="empty window"):
        read_window(sqlite_url, "m", now, now)
    logger = PredictionLogger(sqlite_url)
    logger.offer(entry("x", rows=3))
    logger.flush()
    logger.offer(entry("y", rows=1))
    logger.record_outcome("x", [10, 11, 12])
    logger.flush()
    target = tmp_path / "window.parquet"  # type: ignore[operator]
    assert export_window(sqlite_url, "m", now - timedelta(minutes=1), now + timedelta(minutes=1), target) == 4
    first = window(sqlite_url, limit=1)
    assert first.row.tolist() == [0, 1, 2]  # type: ignore[attr-defined]
    assert first.outcome.tolist() == [10, 11, 12]  # type: ignore[attr-defined]


def test_failed_writes_are_counted_not_raised(sqlite_url: str) -> None:
    logger = PredictionLogger(sqlite_url)
    logger.offer(LoggedPrediction("bad", "m", "1", [[object()]], [1.0]))
    logger.flush()
    assert logger.counters.failed == 1
    assert logger.counters.written == 0


def test_server_logs_predictions_and_feedback(
    make_client: Callable[..., TestClient], sqlite_url: str
) -> None:
    client = make_client(predlog_sample_rate=1.0, predlog_store_url=sqlite_url)
    one = client.post("/predict", json={"features": [1, 2, 3]}).json()
    client.post("/predict/batch", json={"instances": [[1, 2, 3], [4, 5, 6]]})
    client.post(
        "/v2/models/lin/infer",
        json={"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [0, 0, 0]}]},
    )
    accepted = client.post("/feedback", json={"request_id": one["request_id"], "outcome": 13.0})
    assert accepted.status_code == 202
    assert accepted.json()["logged"] is True
    assert client.post("/feedback", json={"request_id": "x"}).status_code == 422
    client.app.state.mlpy.predlog.flush()  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    frame = read_window(sqlite_url, "lin", now - timedelta(minutes=5), now + timedelta(minutes=5))
    assert len(frame) == 4
    assert list(frame.columns[-3:]) == ["age", "income", "score"]
    first = frame[frame.request_id == one["request_id"]].iloc[0]
    assert first.outcome == 13.0
    assert first.prediction == pytest.approx(one["prediction"])
    metrics = client.get("/metrics").text
    assert "mlpy_prediction_log_written_total 3.0" in metrics
    assert "mlpy_prediction_log_dropped_total 0.0" in metrics


def test_an_outcome_that_arrives_before_its_row_is_retried(sqlite_url: str) -> None:
    router_side = PredictionLogger(sqlite_url)
    server_side = PredictionLogger(sqlite_url)
    router_side.record_outcome("early", 7.0)
    router_side.flush()
    assert router_side.counters.outcomes == 0
    server_side.offer(entry("early"))
    server_side.flush()
    router_side.flush()
    assert router_side.counters.outcomes == 1
    assert window(sqlite_url).outcome.tolist() == [7.0]  # type: ignore[attr-defined]


@pytest.fixture
def free_port_url() -> str:
    return f"postgresql+psycopg://mlpy:none@127.0.0.1:{free_port()}/nothing"


def test_an_unreachable_log_store_never_stops_serving(
    make_client: Callable[..., TestClient], free_port_url: str
) -> None:
    # Nothing listens on this loopback port: every connection attempt is refused at once.
    client = make_client(predlog_sample_rate=1.0, predlog_store_url=free_port_url)
    assert client.post("/predict", json={"features": [1, 2, 3]}).status_code == 200
    deadline = time.monotonic() + 10
    while client.app.state.mlpy.predlog.counters.connect_failures == 0:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ready = client.get("/readyz")
    assert ready.status_code == 200
    log = ready.json()["prediction_log"]
    assert log["state"] == "failing"
    assert "cannot reach the prediction log store" in log["error"]
    assert log["queued"] >= 1  # kept for when the store comes back, up to the queue's bound
    metrics = client.get("/metrics").text
    assert "mlpy_prediction_log_up 0.0" in metrics
    assert "mlpy_prediction_log_connect_failures_total" in metrics


def test_a_locked_sqlite_log_does_not_delay_the_start(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE hold (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        client = make_client(predlog_sample_rate=1.0, predlog_store_url=f"sqlite:///{path}")
        assert client.get("/healthz").status_code == 200
        assert client.post("/predict", json={"features": [1, 2, 3]}).status_code == 200
        assert time.monotonic() - started < 5, "the server waited for the locked log"
        assert client.get("/readyz").json()["prediction_log"]["state"] != "ready"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    deadline = time.monotonic() + 60
    while client.get("/readyz").json()["prediction_log"]["state"] != "ready":
        assert time.monotonic() < deadline, client.get("/readyz").json()
        time.sleep(0.1)
    client.app.state.mlpy.predlog.flush()  # type: ignore[attr-defined]
    assert client.get("/readyz").json()["prediction_log"]["written"] == 1
    assert "mlpy_prediction_log_up 1.0" in client.get("/metrics").text
