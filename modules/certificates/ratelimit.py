"""A fixed-window counter per client address, in the database so every process shares it."""

from __future__ import annotations

import hashlib
import ipaddress
import random
import time
from typing import Any

from sqlalchemy import bindparam, delete, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import col

from modules.certificates.models import LookupCounter


def _count_statement(insert: Any) -> Any:
    stmt = insert(LookupCounter.__table__).values(  # type: ignore[attr-defined]
        key=bindparam("key"), window=bindparam("window"), hits=1
    )
    return stmt.on_conflict_do_update(
        index_elements=["key", "window"], set_={"hits": literal_column("lookup_counter.hits") + 1}
    ).returning(literal_column("hits"))


_COUNT = (_count_statement(sqlite_insert), _count_statement(pg_insert))
_FORGET = delete(LookupCounter).where(col(LookupCounter.window) < bindparam("before"))


def allow(*, conn: Connection, address: str, per_minute: int, now: float | None = None) -> bool:
    """Count one look-up from `address`; False once it made more than `per_minute` this
    minute. One statement (an upsert); the caller commits."""
    window = int((now or time.time()) // 60)
    key = hashlib.sha256(f"verify:{_bucket(address)}".encode()).hexdigest()
    hits = conn.execute(
        _COUNT[conn.dialect.name == "postgresql"], {"key": key, "window": window}
    ).scalar_one()
    if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
        conn.execute(_FORGET, {"before": window - 5})
    return int(hits) <= per_minute


def _bucket(address: str) -> str:
    """IPv4 addresses count one by one; IPv6 ones by their /64, which one subscriber usually
    holds whole (so rotating addresses inside it does not reset the count)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
