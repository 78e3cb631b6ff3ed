"""Alembic environment: runs against a connection handed over by smeflow, or the settings URL."""

from __future__ import annotations

from alembic import context

from services.db import models  # noqa: F401  (registers the tables)
from services.db.base import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from config.settings import get_settings
    from services.db.session import make_engine

    engine = make_engine(get_settings().database_url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
