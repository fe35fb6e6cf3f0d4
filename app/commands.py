"""What every command of the `berakhlak` command line shares: settings (a configuration error
is a message, not a traceback), a database engine, a session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import make_engine
from app.settings import Settings


def settings() -> Settings:
    """The settings from the environment; exit 2 with the problem when they are invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"configuration error: {err['msg']}", err=True)
        raise typer.Exit(2) from None


def engine() -> Engine:
    """An engine for the configured database."""
    chosen = settings()
    return make_engine(chosen.database_url, chosen.db_limits)


@contextmanager
def session() -> Iterator[Session]:
    """A session on the configured database, closed (and its engine disposed) at the end."""
    bound = engine()
    try:
        with Session(bound) as db_session:
            yield db_session
    finally:
        bound.dispose()


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` to stderr; the caller raises the returned Exit."""
    typer.echo(message, err=True)
    return typer.Exit(code)
