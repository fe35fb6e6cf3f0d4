"""Alembic, configured in code: migrations are the only way the schema is made."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from app.settings import ROOT


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to an existing engine (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d_%%(slug)s_%%(rev)s",
    )
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the difference between models and database."""
    command.revision(alembic_config(engine), message=message, autogenerate=True)


class SchemaBehind(RuntimeError):
    """The database's schema is older than the code (run `berakhlak db upgrade`)."""


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None: an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_current(engine: Engine) -> None:
    """Refuse to serve on a schema the code does not expect (SchemaBehind)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    current = current_revision(engine)
    if current != head:
        raise SchemaBehind(
            f"the database is at revision {current}, the code needs {head}: "
            "run `berakhlak db upgrade` first"
        )


@contextmanager
def exclusive(engine: Engine) -> Iterator[None]:
    """One start-up at a time across every instance on this database: the others wait, then
    find the schema, agencies, content and keys in place. PostgreSQL: a session advisory lock;
    SQLite: an exclusive lock on a file beside the database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({STARTUP_LOCK})")
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({STARTUP_LOCK})")
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


STARTUP_LOCK = 727166  # the migrations' own transaction lock is 727165 (migrations/env.py)
