"""Alembic environment: runs against the engine handed over by app.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.models_registry import metadata

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # a batch migration rebuilds a table by dropping it; with foreign keys enforced, a
        # table that refers to itself (certificate.replaces_id) cannot be dropped. Off for the
        # migration (outside SQLite's transaction, where the pragma takes effect), checked after.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several servers starting at once: one migrates, the others wait, then find
            # nothing left to do.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727165)")
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
    connection.commit()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
