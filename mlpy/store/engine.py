"""Opening the metadata store: engine set-up per backend and automatic migration."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mlpy.errors import StoreError

SQLITE_BUSY_TIMEOUT_S = 60.0
# Set on the engine that read-only sessions use: their SQLite transactions begin deferred.
READ_ONLY = "mlpy_read_only"


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    database = parsed.database
    if database and database != ":memory:":
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself, so writers take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: two processes never both read, then both try to take the write lock (a SQLite deadlock).
        # A read-only session takes no lock at all: under WAL it reads its snapshot beside the writer,
        # where IMMEDIATE made it queue behind every flush (for seconds under steady writes).
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            return _sqlite_engine(url)
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise StoreError(
            f"cannot open metadata store {redact(url)!r}: {exc}",
            hint="use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB (pip install 'mlpy[postgres]')",
        ) from exc


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class Store:
    """A metadata store: an engine, a session factory, and the schema kept at the newest migration."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = _make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A unit of work that only reads, so it need not wait for writers; nothing it changes is kept.

        On SQLite its transaction begins deferred, and a write in it could deadlock: it is rolled back
        (objects it loaded stay readable, detached). Elsewhere it is an ordinary transaction.
        """
        with self._readers() as session, session.begin() as transaction:
            yield session
            session.expunge_all()
            transaction.rollback()

    def migrate(self) -> None:
        from mlpy.store.heads import at_heads

        try:
            if at_heads(self.engine):
                return
            from mlpy.store.migrate import upgrade_to_heads

            upgrade_to_heads(self.engine)
        except OperationalError as exc:
            raise StoreError(
                f"cannot reach metadata store {redact(self.url)!r}: {exc.orig}",
                hint="check MLPY_STORE or --store, and that the database server is running",
            ) from exc

    def dispose(self) -> None:
        self.engine.dispose()


_stores: dict[tuple[int, str], Store] = {}
_stores_lock = threading.Lock()
# One lock per store while it migrates: a slow or locked database holds up only its own callers.
_opening: dict[tuple[int, str], threading.Lock] = {}


def open_store(url: str) -> Store:
    """The process-wide store for ``url``, migrated on first use.

    Engines are cached per process (keyed by pid too, so a forked child builds its own pool).
    """
    key = (os.getpid(), normalise_url(url))
    with _stores_lock:
        store = _stores.get(key)
        if store is not None:
            return store
        opening = _opening.setdefault(key, threading.Lock())
    with opening:
        store = _stores.get(key)
        if store is None:
            store = Store(url)
            store.migrate()
            with _stores_lock:
                _stores[key] = store
        return store
