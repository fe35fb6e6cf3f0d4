"""The one clock of the platform. Every "now" comes from here, so that tests (and the worker's
tests above all) can move time instead of sleeping: `with clock.use(ManualClock(...)):`.

The platform stores and compares aware UTC datetimes only; SQLite hands back naive ones, which
`as_utc` reads as the UTC they were stored as."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Now, in UTC, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = as_utc(start) if start else datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta`; returns the new now."""
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = as_utc(moment)


_current: Clock = SystemClock()


def current() -> Clock:
    """The clock in use."""
    return _current


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Use `clock` for every "now" until the block ends (tests)."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware, from the clock in use."""
    return _current.now()


def local_now(zone: tzinfo) -> datetime:
    """Now in the site's time zone (dates shown to people, calendar years of JP)."""
    return _current.now().astimezone(zone)


def today(zone: tzinfo) -> date:
    """Today's date in the site's time zone."""
    return local_now(zone).date()


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; treat them as the UTC they were stored as."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
