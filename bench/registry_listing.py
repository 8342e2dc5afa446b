"""Listing and searching the registry: SQL-side filtering, ordering and paging against the way before.

The anchor is the previous implementation, kept here as it was: ``list_models`` ran one query per
model for its counts and aliases, and ``search_versions`` loaded every live version, then filtered,
sorted and paged in Python. Both read the same tables, filled directly with ``--versions`` versions
over ``--models`` models (no artifacts: listings never read them). SQLite always; PostgreSQL too when
MLPY_TEST_POSTGRES_URL is set.

    python bench/registry_listing.py [--versions 10000] [--models 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select

from mlpy.registry import ModelRegistry
from mlpy.registry.tables import LIVE, ModelAlias, ModelVersionRow, RegisteredModel
from mlpy.store import Store, open_store, utcnow
from mlpy.store import engine as store_engine


def fill(store: Store, versions: int, models: int) -> None:
    """``versions`` live versions spread over ``models`` models, each with a metric, two tags, an alias."""
    with store.session() as session:
        for table in (ModelAlias, ModelVersionRow, RegisteredModel):
            session.execute(delete(table))
    per_model = versions // models
    now = utcnow()
    with store.session() as session:
        connection = session.connection()
        connection.execute(
            insert(RegisteredModel),
            [
                {"id": m + 1, "name": f"model-{m:04d}", "latest_version": per_model, "created_at": now}
                for m in range(models)
            ],
        )
        rows = [
            {
                "model_id": m + 1,
                "version": v + 1,
                "status": LIVE,
                "artifact_uri": f"file:///none/{m}/{v}",
                "artifact_format": "skops",
                "sha256": "0" * 64,
                "size_bytes": 1,
                "metrics": {"auc": ((m * 7919 + v * 104729) % 1000) / 1000},
                "params": {},
                "tags": {"team": ("risk", "growth", "ops")[v % 3], "fold": str(v % 5)},
                "author": "bench",
                "created_at": now + timedelta(seconds=m * per_model + v),
            }
            for m in range(models)
            for v in range(per_model)
        ]
        connection.execute(insert(ModelVersionRow), rows)
        connection.execute(
            insert(ModelAlias),
            [
                {"model_id": m + 1, "alias": "production", "version": 1, "updated_at": now}
                for m in range(models)
            ],
        )


# ------------------------------------------------------------------ the way before (the anchor)
def list_models_before(store: Store, size: int = 100) -> int:
    with store.session() as session:
        models = list(session.scalars(select(RegisteredModel).order_by(RegisteredModel.name).limit(size)))
        for model in models:
            session.execute(
                select(func.count(ModelVersionRow.id), func.max(ModelVersionRow.version)).where(
                    ModelVersionRow.model_id == model.id, ModelVersionRow.status == LIVE
                )
            ).one()
            list(session.scalars(select(ModelAlias).where(ModelAlias.model_id == model.id)))
    return len(models)


def search_before(store: Store, tags: dict[str, str] | None, metric: str | None, size: int = 100) -> int:
    query = (
        select(ModelVersionRow, RegisteredModel.name)
        .join(RegisteredModel, RegisteredModel.id == ModelVersionRow.model_id)
        .where(ModelVersionRow.status == LIVE)
    )
    with store.session() as session:
        matches = []
        aliases: dict[int, list[Any]] = {}
        for row, name in session.execute(query).all():
            if tags and any(str(row.tags.get(k)) != str(v) for k, v in tags.items()):
                continue
            if row.model_id not in aliases:
                aliases[row.model_id] = list(
                    session.scalars(select(ModelAlias).where(ModelAlias.model_id == row.model_id))
                )
            matches.append((name, row.version, dict(row.metrics), dict(row.tags)))
    if metric:
        matches.sort(key=lambda m: (metric in m[2], m[2].get(metric, 0.0)), reverse=True)
    else:
        matches.sort(key=lambda m: (m[0], m[1]), reverse=True)
    return len(matches[:size])


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A database of its own on the server, dropped afterwards: the bench never touches another's rows."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"mlpy_bench_{uuid.uuid4().hex[:12]}"
    admin = make_url(server_url)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        for key, store in list(store_engine._stores.items()):
            if name in key[1]:
                store.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------ measuring
def p50_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm: connections, statement caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(label: str, url: str, versions: int, models: int, repeat: int) -> None:
    store = open_store(url)
    fill(store, versions, models)
    registry = ModelRegistry(store, tempfile.mkdtemp(prefix="mlpy-bench-artifacts-"))
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "list models, first page of 100",
            lambda: registry.list_models(page_size=100),
            lambda: list_models_before(store),
        ),
        (
            "search all, newest 100",
            lambda: registry.search_versions(page_size=100),
            lambda: search_before(store, None, None),
        ),
        (
            "search by tag team=risk, best 100 by auc",
            lambda: registry.search_versions(tags={"team": "risk"}, order_by="metric:auc", page_size=100),
            lambda: search_before(store, {"team": "risk"}, "auc"),
        ),
    ]
    print(f"\n{label}: {versions:,} versions over {models} models (p50 of {repeat})")
    print(f"{'case':44} {'before':>10} {'now':>10} {'ratio':>7}")
    for name, now, before in cases:
        ours, theirs = p50_ms(now, repeat), p50_ms(before, repeat)
        print(f"{name:44} {theirs:8.1f}ms {ours:8.1f}ms {ours / theirs:6.2f}x")
    print("ratio: now / before (lower is faster); now = SQL filtering, ordering and paging (queries.py)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlpy-bench-registry-") as folder:
        run("SQLite", f"sqlite:///{folder}/registry.db", args.versions, args.models, args.repeat)
    server = os.environ.get("MLPY_TEST_POSTGRES_URL")
    if server:
        with scratch_database(server) as postgres:
            run("PostgreSQL", postgres, args.versions, args.models, args.repeat)
    else:
        print("\nPostgreSQL: skipped (set MLPY_TEST_POSTGRES_URL; scripts/services.sh start does it)")


if __name__ == "__main__":
    main()
