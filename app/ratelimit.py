"""The platform's one rate limiter: counts per key in the database, so every process and machine
shares them (failed logins, registrations, certificate look-ups).

Counts are kept per fixed window and read as a sliding window: this window's hits plus the
previous window's, weighted by how much of it is still inside the last `per`. One upsert
counts and returns the count in the same statement, so concurrent requests are counted before
any of them is let through. Keys are hashed: no NIP, email or address is stored in clear."""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, bindparam, delete, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from app import clock
from app.jobs import Handler, JobContext, Schedule


class RateCounter(SQLModel, table=True):
    """Hits of one key in one window."""

    __tablename__ = "rate_counter"
    key: str = Field(primary_key=True, max_length=80)
    window: int = Field(primary_key=True)  # seconds since the epoch // window length
    hits: int = 0
    # after this the row counts for nothing (the daily clean-up deletes it)
    until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


counter_t = RateCounter.__table__  # type: ignore[attr-defined]


def key(kind: str, value: str) -> str:
    """A fixed-length key for a counted thing (`login-id`, an address...)."""
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def address_key(kind: str, address: str) -> str:
    """A key for a client address: IPv4 addresses count one by one, IPv6 ones by their /64,
    which one subscriber usually holds whole (rotating inside it does not reset the count)."""
    try:
        parsed: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return key(kind, address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped  # a dual-stack listener's IPv4 client: counted as IPv4
    if parsed.version == 6:
        return key(kind, str(ipaddress.ip_network(f"{parsed}/64", strict=False)))
    return key(kind, str(parsed))


def _windows(per: timedelta, now: datetime) -> tuple[int, float, datetime]:
    """The current window, how far into it `now` is (0..1), and when its row stops counting."""
    seconds = per.total_seconds()
    position = now.timestamp() / seconds
    window = math.floor(position)
    until = datetime.fromtimestamp((window + 2) * seconds, UTC)
    return window, position - window, until


def _count_statement(insert: Any) -> Any:
    stmt = insert(counter_t).values(
        key=bindparam("key"),
        window=bindparam("window"),
        hits=bindparam("n"),
        until=bindparam("until"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["key", "window"],
        set_={"hits": literal_column("rate_counter.hits") + stmt.excluded.hits},
    ).returning(literal_column("hits"))


# Built once per dialect (building a statement costs more than running it on SQLite).
_COUNT = {"sqlite": _count_statement(sqlite_insert), "postgresql": _count_statement(pg_insert)}


_PREVIOUS = select(counter_t.c.hits).where(
    counter_t.c.key == bindparam("key"), counter_t.c.window == bindparam("window")
)


@dataclass(frozen=True)
class Count:
    """One hit as counted: how many fell within the last `per` (sliding), and where it went."""

    key: str
    window: int
    value: float


def hit(conn: Connection, counted: str, *, per: timedelta) -> Count:
    """Count one hit of `counted` (a `key(...)`) now, in the caller's transaction."""
    window, into, until = _windows(per, clock.utcnow())
    current: Any = conn.execute(
        _COUNT[conn.dialect.name],
        {"key": counted, "window": window, "n": 1, "until": until},
    ).scalar_one()
    previous = conn.execute(_PREVIOUS, {"key": counted, "window": window - 1}).scalar()
    return Count(counted, window, float(current) + float(previous or 0) * (1.0 - into))


def allow(conn: Connection, counted: str, *, limit: int, per: timedelta) -> bool:
    """Count one hit; False once more than `limit` fell within the last `per`."""
    return hit(conn, counted, per=per).value <= limit


_FORGIVE = (
    update(counter_t)
    .where(
        counter_t.c.key == bindparam("k"),
        counter_t.c.window == bindparam("w"),
        counter_t.c.hits > 0,
    )
    .values(hits=counter_t.c.hits - 1)
)


def forgive(conn: Connection, count: Count) -> None:
    """Take back one hit, from the window it was counted in (a login that succeeded does not
    count against its address)."""
    conn.execute(_FORGIVE, {"k": count.key, "w": count.window})


def clear(conn: Connection, keys: Iterable[str] = (), *, prefix: str | None = None) -> None:
    """Forget the counts of `keys` (and of every key starting with `prefix`)."""
    wanted = list(keys)
    if wanted:
        conn.execute(delete(counter_t).where(counter_t.c.key.in_(wanted)))
    if prefix:
        conn.execute(delete(counter_t).where(counter_t.c.key.startswith(prefix, autoescape=True)))


def prune(conn: Connection) -> int:
    """Delete the rows that no longer count for anything; returns how many."""
    return int(conn.execute(delete(counter_t).where(counter_t.c.until < clock.utcnow())).rowcount)


def _prune_job(ctx: JobContext) -> None:
    prune(ctx.session.connection())


HANDLERS = {"ratelimit.prune": Handler(_prune_job)}
SCHEDULES = [Schedule("ratelimit.prune", timedelta(days=1), "ratelimit.prune")]
