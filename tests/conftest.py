"""Shared fixtures: isolated embedded defaults for every test, and the real services tests need.

A service comes from an environment variable (``MLPY_TEST_POSTGRES_URL``, ``MLPY_TEST_REDIS_URL``,
``MLPY_TEST_S3_ENDPOINT``). When it is unset a test that needs it is skipped with the reason, except
under CI (``CI=true``), where a missing service fails the run: CI provides every service.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Under CI a skipped (or xfailed) test fails the run: the hooks live in tests/ci_skips.py.
from tests.ci_skips import pytest_sessionfinish, pytest_terminal_summary  # noqa: F401

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# CPython 3.11.7 shares the AST recursion counter between threads (fixed in 3.11.8): a module parsed
# while another thread parses can fail with "SystemError: AST constructor recursion depth mismatch".
# schemathesis' pytest plugin imports (and pytest rewrites) its reporting modules at session end,
# while operator threads may still be winding down: import them now, while nothing else runs.
with contextlib.suppress(ImportError):
    import schemathesis.reporting.html.writer
    import schemathesis.reporting.junitxml  # noqa: F401


def need_service(env: str, what: str) -> str:
    """The service URL from ``env``; skip (locally) or fail (in CI) when it is not there."""
    value = os.environ.get(env)
    if value:
        return value
    message = f"{what} not available: set {env} (scripts/services.sh start does it)"
    if IN_CI:
        pytest.fail(f"CI must provide {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own MLPY_HOME so embedded defaults never touch the developer's ~/.mlpy."""
    home = tmp_path / "mlpy-home"
    monkeypatch.setenv("MLPY_HOME", str(home))
    monkeypatch.delenv("MLPY_STORE", raising=False)
    monkeypatch.delenv("MLPY_ARTIFACTS", raising=False)
    return home


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin_url = need_service("MLPY_TEST_POSTGRES_URL", "PostgreSQL")
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"mlpy_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        from mlpy.store import engine as store_engine

        for key, store in list(store_engine._stores.items()):
            if name in key[1]:
                store.dispose()
                del store_engine._stores[key]
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The metadata store URL, once on SQLite and once on real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def redis_url() -> str:
    return need_service("MLPY_TEST_REDIS_URL", "Redis")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible endpoint: the one CI names, else moto's server on a free loopback port."""
    external = os.environ.get("MLPY_TEST_S3_ENDPOINT")
    if external:
        yield external
        return
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - moto is a dev dependency
        if IN_CI:
            pytest.fail(f"moto[server] is missing: {exc}")
        pytest.skip(f"moto[server] not installed: {exc}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket on the S3 endpoint, with the environment set as a user would set it."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("MLPY_S3_ENDPOINT_URL", s3_endpoint)
    bucket = f"mlpy-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def pushgateway_url() -> str:
    """A real Prometheus Pushgateway (Debian's prometheus-pushgateway)."""
    return need_service("MLPY_TEST_PUSHGATEWAY_URL", "Prometheus Pushgateway")
