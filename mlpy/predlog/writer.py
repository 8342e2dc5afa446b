"""Writing the prediction log without ever slowing a request.

``offer`` only samples and appends to a bounded queue (a few hundred nanoseconds); a daemon thread
drains it in batches into the metadata store. When the queue is full the sample is dropped and counted:
under overload the log loses samples, requests lose nothing. The store is also connected (and migrated)
from that thread, with retries, so a log that is down or locked never holds back the server's start.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import bindparam, text, update
from sqlalchemy.exc import SQLAlchemyError

from mlpy.predlog.errors import PredictionLogError
from mlpy.predlog.tables import PredictionLogRow
from mlpy.store import Store, UTCDateTime, open_store, utcnow

log = logging.getLogger("mlpy.predlog")
# Entries serialised between two GIL hand-overs to the request-serving thread.
YIELD_EVERY = 8
# Writer cycles an outcome waits for its request's row (about 5 s at the default interval).
OUTCOME_RETRIES = 10
# Seconds between attempts to reach a store that is down: doubling from the first to the last.
CONNECT_RETRY_FIRST_S = 0.5
CONNECT_RETRY_MAX_S = 30.0

# JSON columns get text serialised by orjson: both SQLite (TEXT) and PostgreSQL (json, cast from text)
# store it exactly as SQLAlchemy's JSON type would; the timestamp still goes through its column type.
INSERT = text(
    "INSERT INTO prediction_log (request_id, model, version, variant, ts, n_rows, feature_names, features,"
    " predictions, groups) VALUES (:request_id, :model, :version, :variant, :ts, :n_rows, :feature_names,"
    " :features, :predictions, :groups)"
).bindparams(bindparam("ts", type_=UTCDateTime()))


@dataclass(frozen=True, slots=True)
class LoggedPrediction:
    """One request's instances; ``features`` and ``predictions`` are parallel sequences (one per row).

    Either may be a numpy array: it is turned into lists in the writer thread, off the request path.
    """

    request_id: str
    model: str
    version: str
    features: Any
    predictions: Any
    variant: str | None = None
    # Stored once per request beside the rows of values (cheaper than a {name: value} object per row).
    feature_names: tuple[str, ...] = ()
    ts: datetime = field(default_factory=utcnow)
    # The request's group attributes (declared sensitive features): {name: [one value per row]}.
    groups: Mapping[str, Sequence[Any]] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    request_id: str
    value: Any
    ts: datetime = field(default_factory=utcnow)
    attempts: int = 0


@dataclass
class LogCounters:
    """Read by the metrics collector at scrape time, so counting costs nothing on the request path."""

    offered: int = 0
    sampled_out: int = 0
    dropped: int = 0
    written: int = 0
    outcomes: int = 0
    failed: int = 0
    connect_failures: int = 0


class LogState:
    """Where the writer stands with its store: shown in /readyz and /metrics."""

    CONNECTING = "connecting"
    READY = "ready"
    FAILING = "failing"


class PredictionLogger:
    """Sampled, bounded, batched: at most ``queue_size`` requests wait; each write holds ``batch_size``."""

    def __init__(
        self,
        store: Store | str,
        *,
        sample_rate: float = 1.0,
        queue_size: int = 10_000,
        batch_size: int = 500,
        flush_interval_s: float = 0.5,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise PredictionLogError(
                f"prediction log sample rate must be between 0 and 1, got {sample_rate}",
                hint="set MLPY_PREDLOG_SAMPLE_RATE to e.g. 0.1 (0 turns the log off)",
            )
        if queue_size < 1 or batch_size < 1:
            raise PredictionLogError("prediction log queue and batch sizes must be at least 1")
        self._store_url = store if isinstance(store, str) else None
        self._store: Store | None = None if isinstance(store, str) else store
        self.state = LogState.CONNECTING if self._store is None else LogState.READY
        self.last_error: str | None = None
        self._retry_s = CONNECT_RETRY_FIRST_S
        self._next_connect = 0.0
        self.sample_rate = sample_rate
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.counters = LogCounters()
        self._rng = rng
        self._queue: queue.Queue[LoggedPrediction] = queue.Queue(maxsize=queue_size)
        # Outcomes are few and must not be lost to a burst of predictions: their own, larger queue.
        self._outcomes: queue.Queue[Outcome] = queue.Queue(maxsize=queue_size * 10)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._flush_waiters: list[threading.Event] = []
        # Outcomes whose request was not in the log yet (another process may still be writing it).
        self._retry: list[Outcome] = []
        self._thread: threading.Thread | None = None

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def describe(self) -> dict[str, Any]:
        """The state, the last error and what waits or was lost, for /readyz."""
        counters = self.counters
        return {
            "state": self.state,
            "error": self.last_error,
            "queued": self.queued,
            "dropped": counters.dropped,
            "failed": counters.failed,
            "written": counters.written,
        }

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mlpy-predlog-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (within ``timeout_s``), then end the writer thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout_s)

    def offer(self, entry: LoggedPrediction) -> bool:
        """Queue the entry if it is sampled and there is room; never blocks, never raises."""
        counters = self.counters
        counters.offered += 1
        if self.sample_rate < 1.0 and self._rng() >= self.sample_rate:
            counters.sampled_out += 1
            return False
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            counters.dropped += 1
            return False
        return True

    def record_outcome(self, request_id: str, value: Any) -> bool:
        """Attach the observed outcome to a logged request (written after any insert queued before it)."""
        try:
            self._outcomes.put_nowait(Outcome(request_id, value))
        except queue.Full:
            self.counters.dropped += 1
            return False
        self._wake.set()
        return True

    def flush(self, timeout_s: float = 5.0) -> None:
        """Block until everything queued so far is written (tests, shutdown, the reader's freshness)."""
        if self._thread is None:
            self._drain_once()
            return
        done = threading.Event()
        with self._flush_lock:
            self._flush_waiters.append(done)
        self._wake.set()
        done.wait(timeout_s)

    # ----------------------------------------------------------------- writer thread
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            self._cycle()
        self._cycle()

    def _cycle(self) -> None:
        # Waiters are taken before draining, so each is released by a drain that began after it asked.
        with self._flush_lock:
            waiters, self._flush_waiters = self._flush_waiters, []
        try:
            self._drain_once()
        finally:
            for done in waiters:
                done.set()

    def _connected(self) -> Store | None:
        """The store, opened (and migrated) here on first use; None while it cannot be reached yet."""
        if self._store is not None:
            return self._store
        now = time.monotonic()
        if now < self._next_connect or self._store_url is None:
            return None
        try:
            self._store = open_store(self._store_url)
        except Exception as exc:  # anything (a missing driver too): the writer thread must live on
            self.counters.connect_failures += 1
            self._failing(f"cannot reach the prediction log store: {exc}")
            self._next_connect = now + self._retry_s
            log.warning("%s; retrying in %.1fs, serving goes on", self.last_error, self._retry_s)
            self._retry_s = min(self._retry_s * 2, CONNECT_RETRY_MAX_S)
            return None
        self._ready()
        return self._store

    def _ready(self) -> None:
        if self.state != LogState.READY:
            log.info("prediction log store ready")
        self.state, self.last_error = LogState.READY, None

    def _failing(self, error: str) -> None:
        self.state, self.last_error = LogState.FAILING, error

    def _drain_once(self) -> None:
        store = self._connected()
        if store is None:
            return  # entries wait in the bounded queue (dropped and counted when it is full)
        # Outcomes first: every insert their request produced was queued before them, so it is drained
        # below and written before the outcomes are applied.
        outcomes, self._retry = self._retry + _take_all(self._outcomes), []
        while True:
            batch = _take(self._queue, self.batch_size)
            if not batch:
                break
            self._write(store, batch)
        if outcomes:
            self._apply(store, outcomes)

    def _write(self, store: Store, batch: list[LoggedPrediction]) -> None:
        rows = []
        for index, entry in enumerate(batch):
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                # Let the serving thread have the GIL between serialisations, not after the whole batch.
                time.sleep(0)
            try:
                rows.append(_row(entry))
            except (TypeError, ValueError) as exc:  # a value JSON cannot hold: drop this entry only
                self.counters.failed += 1
                log.warning("prediction log entry %s dropped: %s", entry.request_id, exc)
        if not rows:
            return
        try:
            with store.session() as session:
                session.execute(INSERT, rows)
        except SQLAlchemyError as exc:
            self.counters.failed += len(rows)
            self._failing(f"prediction log write failed: {exc}")
            log.warning("prediction log write of %d requests failed: %s", len(rows), exc)
            return
        self.counters.written += len(rows)
        self._ready()

    def _apply(self, store: Store, outcomes: list[Outcome]) -> None:
        """Attach outcomes; one whose request is not logged yet is retried for a few cycles.

        Feedback can reach a replica (or the router) whose log is not the one that wrote the request,
        so its row may land a moment later; a request that was never sampled simply never matches.
        """
        applied = 0
        try:
            with store.session() as session:
                for outcome in outcomes:
                    result = session.execute(
                        update(PredictionLogRow)
                        .where(PredictionLogRow.request_id == outcome.request_id)
                        .values(outcome=outcome.value, outcome_at=outcome.ts)
                    )
                    if getattr(result, "rowcount", 1):
                        applied += 1
                    elif outcome.attempts < OUTCOME_RETRIES:
                        self._retry.append(replace(outcome, attempts=outcome.attempts + 1))
        except (SQLAlchemyError, ValueError, TypeError) as exc:
            self.counters.failed += len(outcomes)
            log.warning("prediction log outcome update of %d requests failed: %s", len(outcomes), exc)
            return
        self.counters.outcomes += applied


def _json(value: Any) -> str:
    """orjson (numpy arrays included) is ten times faster than the json module SQLAlchemy would use."""
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        value = value.tolist()
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _row(entry: LoggedPrediction) -> dict[str, Any]:
    return {
        "request_id": entry.request_id,
        "model": entry.model,
        "version": entry.version,
        "variant": entry.variant,
        "ts": entry.ts,
        "n_rows": len(entry.predictions),
        "feature_names": _json(list(entry.feature_names)) if entry.feature_names else None,
        "features": _json(entry.features),
        "predictions": _json(entry.predictions),
        "groups": _json(dict(entry.groups)) if entry.groups else None,
    }


def _take(source: queue.Queue[Any], limit: int) -> list[Any]:
    items: list[Any] = []
    while len(items) < limit:
        try:
            items.append(source.get_nowait())
        except queue.Empty:
            break
    return items


def _take_all(source: queue.Queue[Any]) -> list[Any]:
    return _take(source, source.maxsize or 1_000_000)
