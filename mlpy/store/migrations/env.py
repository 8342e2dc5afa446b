"""Alembic environment: migrations normally run on a connection handed in by mlpy.store.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from mlpy.store.base import Base, load_table_modules

connection = context.config.attributes.get("connection")

if connection is None:
    # `alembic revision --autogenerate` from a shell: compare every table against a scratch database.
    load_table_modules()
    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///:memory:"
    with create_engine(url).connect() as scratch:
        context.configure(connection=scratch, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    # Running migrations needs no table classes: importing every package here would slow every start-up.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
