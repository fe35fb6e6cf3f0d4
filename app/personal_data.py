"""Helpers for the data download (UU 27/2022 Pasal 7: the right to a copy of one's personal
data): rows as plain JSON values, secrets never included. Each module contributes its part
(app/main.py, PERSONAL_DATA), and a test fails when a table holding a person's id is in no
part (tests/app/test_personal_data.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from app.clock import as_utc

# never in a download: what would let someone act as the person, or is not theirs
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "private_pem", "content", "payload"})


def plain(value: Any) -> Any:
    """A stored value as JSON: times in UTC ISO 8601, dates ISO."""
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows_of(
    session: Session, model: Any, *where: Any, omit: Iterable[str] = (), order: Any = None
) -> list[dict[str, Any]]:
    """Every row of `model` matching `where`, as dicts of its columns (secrets and `omit`
    left out)."""
    left_out = SECRET_COLUMNS | set(omit)
    columns = [c.name for c in model.__table__.columns if c.name not in left_out]
    stmt = select(model).where(*where)
    if order is not None:
        stmt = stmt.order_by(order)
    return [{name: plain(getattr(row, name)) for name in columns} for row in session.exec(stmt)]
