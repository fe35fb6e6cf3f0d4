"""The one rate limiter against the real database: counted before anything is let through,
shared by one IPv6 subscriber's addresses, sliding across windows, cleared and pruned."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app import clock, ratelimit
from app.clock import ManualClock

MINUTE = timedelta(minutes=1)
START = datetime(2026, 12, 7, 8, 0, 0, tzinfo=UTC)  # the start of a minute


def test_look_ups_from_one_ipv6_subscriber_share_a_count(app) -> None:
    with clock.use(ManualClock(START)), app.state.engine.begin() as conn:
        answers = [
            ratelimit.allow(
                conn, ratelimit.address_key("verify", f"2001:db8:1:2::{i:x}"), limit=3, per=MINUTE
            )
            for i in range(1, 6)
        ]
        other = ratelimit.allow(
            conn, ratelimit.address_key("verify", "2001:db8:1:3::1"), limit=3, per=MINUTE
        )
    assert answers == [True, True, True, False, False] and other


def test_the_window_slides(app) -> None:
    key = ratelimit.key("test", "one")
    with clock.use(ManualClock(START)) as moment, app.state.engine.begin() as conn:
        for _ in range(10):
            ratelimit.hit(conn, key, per=MINUTE)
        moment.advance(timedelta(seconds=90))  # half of the previous minute still counts
        assert ratelimit.hit(conn, key, per=MINUTE).value == 1 + 10 * 0.5
        moment.advance(timedelta(minutes=2))
        assert ratelimit.hit(conn, key, per=MINUTE).value == 1


def test_concurrent_hits_are_all_counted(app) -> None:
    key = ratelimit.key("test", "burst")

    def one(_i: int) -> None:
        with app.state.engine.begin() as conn:
            ratelimit.hit(conn, key, per=timedelta(hours=1))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(40)))
    with app.state.engine.connect() as conn:
        total = conn.execute(
            select(func.sum(ratelimit.counter_t.c.hits)).where(ratelimit.counter_t.c.key == key)
        ).scalar()
    assert total == 40


def test_clear_and_prune(app) -> None:
    with clock.use(ManualClock(START)) as moment, app.state.engine.begin() as conn:
        for value in ("a", "b"):
            ratelimit.hit(conn, ratelimit.key("login-pair", "x") + ":" + value, per=MINUTE)
        ratelimit.hit(conn, ratelimit.key("other", "y"), per=MINUTE)
        ratelimit.clear(conn, prefix=ratelimit.key("login-pair", "x") + ":")
        left = conn.execute(select(ratelimit.counter_t.c.key)).scalars().all()
        assert left == [ratelimit.key("other", "y")]
        moment.advance(timedelta(minutes=3))
        assert ratelimit.prune(conn) == 1


def test_a_forgiven_hit_leaves_the_window_it_was_counted_in(app) -> None:
    """A login that succeeds takes back its address's hit: from the window the hit went to,
    even when the check ended in the next one, and never below zero."""
    counted = ratelimit.key("test", "login")
    with clock.use(ManualClock(START)) as moment, app.state.engine.begin() as conn:
        first = ratelimit.hit(conn, counted, per=MINUTE)
        moment.advance(timedelta(seconds=61))  # argon2 finished in the next window
        ratelimit.forgive(conn, first)
        ratelimit.forgive(conn, first)  # twice: still not below zero
        assert ratelimit.hit(conn, counted, per=MINUTE).value == 1


def test_ipv4_clients_of_a_dual_stack_listener_count_one_by_one() -> None:
    assert ratelimit.address_key("k", "::ffff:10.0.0.1") == ratelimit.address_key("k", "10.0.0.1")
    assert ratelimit.address_key("k", "::ffff:10.0.0.1") != ratelimit.address_key(
        "k", "::ffff:10.0.0.2"
    )
