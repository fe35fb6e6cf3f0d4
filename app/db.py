"""Database engine, naming conventions and the per-request session dependency."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine
from starlette.concurrency import run_in_threadpool

# Constraint names are fixed so Alembic migrations stay identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class Limits:
    """How long the database may take and how many connections a process keeps (settings
    `BERAKHLAK_DB_*`, documented in the README with the database each applies to)."""

    connect_timeout: float = 5.0  # PostgreSQL: establishing a connection
    statement_timeout: float = 30.0  # both: one statement (SQLite: a progress handler)
    busy_timeout: float = 10.0  # SQLite: waiting for another process's write lock
    pool_size: int = 10  # PostgreSQL, per process
    max_overflow: int = 5  # PostgreSQL, per process, closed again after use
    pool_timeout: float = 5.0  # PostgreSQL: waiting for a free connection, then 503
    pooler: str = "none"  # PostgreSQL: "transaction" behind PgBouncer in transaction mode


def make_engine(url: str, limits: Limits | None = None) -> Engine:
    """Create the engine with its timeouts and pool; SQLite gets WAL, a busy timeout and
    enforced foreign keys."""
    limits = limits or Limits()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, limits)
    connect_args: dict[str, Any] = {
        "connect_timeout": max(1, round(limits.connect_timeout)),
        # a peer that vanishes (a cut link) is noticed in seconds, not hours
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": int(limits.statement_timeout * 1000) + 5000,
    }
    behind_pooler = limits.pooler == "transaction"
    if behind_pooler:  # PgBouncer in transaction mode cannot keep a prepared statement
        connect_args["prepare_threshold"] = None
    # No pre-ping (a round trip per checkout on the hot path): connections are recycled hourly
    # and one that broke is invalidated on its first error, so the next request reconnects.
    engine = create_engine(
        url,
        pool_size=limits.pool_size,
        max_overflow=limits.max_overflow,
        pool_timeout=limits.pool_timeout,
        pool_recycle=3600,
        connect_args=connect_args,
        hide_parameters=True,  # a logged error never shows the values (NIPs, emails) bound
    )
    if behind_pooler:
        # A session setting made here would reach one server connection only, and PgBouncer
        # passes no startup options: its `connect_query` sets the statement timeout on every
        # server connection (deploy/pgbouncer.ini, docs/operations.md).
        return engine
    timeout_ms = int(limits.statement_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _statement_timeout(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET statement_timeout = {timeout_ms}")
        dbapi_conn.commit()

    return engine


class _Runaway:
    """SQLite has no statement timeout. Its progress handler, called every few thousand steps
    of the virtual machine, stops a statement running longer than `limit`: calls come
    milliseconds apart while a statement runs, so a gap of half a second means a new one
    (this costs nothing per statement; two long statements back to back count as one)."""

    GAP = 0.5

    def __init__(self, limit: float) -> None:
        self.limit, self.started, self.last = limit, 0.0, 0.0

    def __call__(self) -> int:
        now = time.monotonic()
        if now - self.last > self.GAP:
            self.started = now
        self.last = now
        return 1 if now - self.started > self.limit else 0


def _sqlite_engine(url: str, limits: Limits) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # A pool as large as the server's thread pool: an overflow connection would be closed
    # after each request and reopened (with its PRAGMAs) on the next.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": limits.busy_timeout},
        hide_parameters=True,
        pool_size=40,
        max_overflow=10,
    )
    busy_ms = int(limits.busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()
        dbapi_conn.set_progress_handler(_Runaway(limits.statement_timeout), 20_000)

    return engine


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, from the engine the app was built with (a sync dependency:
    closing it may talk to the database, which must not happen on the event loop)."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


T = TypeVar("T")


def insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


async def run_read(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run a short read on a Core connection from the hot path.

    On SQLite (WAL) a read never waits for a lock and takes tens of microseconds, less than
    handing it to a worker thread, so it runs inline on the event loop. On a networked
    database it runs in the thread pool so the loop never waits on the network."""

    def call() -> T:
        with engine.connect() as conn:
            return work(conn)

    if engine.dialect.name == "sqlite":
        return call()
    return await run_in_threadpool(call)


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """The fast path's connection for a hot request made of single-statement writes and reads
    (saving a quiz answer, counting a certificate look-up): each statement is its own
    transaction, with no ORM session around them. Callers run it in the thread pool, behind
    `write_lock` while they write."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


async def run_write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run a short write in its own transaction, always off the event loop (it may wait for a
    lock)."""

    def call() -> T:
        with engine.begin() as conn:
            return work(conn)

    return await run_in_threadpool(call)


_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def write_lock(engine: Engine) -> AbstractContextManager[object]:
    """Serialise this process's writers on SQLite. SQLite admits one writer at a time, and a
    writer that finds the lock taken sleeps in growing steps (up to 100 ms); queueing on a
    Python lock instead keeps latency even under a burst. Other databases need no lock. The
    lock is re-entrant: a writer that holds it (a background job) may write again (renew its
    lease)."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    lock = _sqlite_writers.get(engine)
    if lock is None:
        lock = _sqlite_writers.setdefault(engine, threading.RLock())
    return lock
