"""A database that stops answering, and more requests than a process should take: answers
come within a bounded time, say nothing was saved, and static files and health checks keep
answering. Short timeouts from the test settings; nothing sleeps to wait."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.main import create_app
from tests.browser.conftest import _free_port, serve
from tests.conftest import csrf_from, make_settings, register

FAST = {
    "db_connect_timeout_seconds": 1,
    "db_pool_timeout_seconds": 1,
    "db_statement_timeout_seconds": 2,
    "db_busy_timeout_seconds": 1,
    "request_timeout_seconds": 4,
}
# a page that always asks the database (a look-up is counted, then searched): 404 while the
# database answers, as no such certificate exists
ASKS_THE_DATABASE = "/verify/BA-0000-TIDAK-ADA"


class Proxy:
    """A TCP proxy to the database that can stop forwarding while keeping every connection
    open: a black hole, as a dead link or a frozen server looks to the app."""

    def __init__(self, target: tuple[str, int] | None) -> None:
        self.target, self.forwarding = target, target is not None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(client)
            if self.target is not None:
                upstream = socket.create_connection(self.target)
                self.held.append(upstream)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            while not self.forwarding:  # black-holed: hold the bytes, answer nothing
                time.sleep(0.01)
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()
        for held in self.held:
            held.close()


@contextmanager
def proxy(target: tuple[str, int] | None) -> Iterator[Proxy]:
    hole = Proxy(target)
    try:
        yield hole
    finally:
        hole.close()


def _timed(client: httpx.Client, url: str) -> tuple[int, float, str]:
    began = time.monotonic()
    response = client.get(url, headers={"Accept": "text/html"})
    return response.status_code, time.monotonic() - began, response.text


def test_a_black_holed_database_gets_503_in_bounded_time_while_static_and_liveness_answer(
    tmp_path,
) -> None:
    with proxy(None) as hole:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{hole.port}/test"
        app = create_app(make_settings(url, **FAST))
        with serve(app, _free_port()) as base, httpx.Client(base_url=base, timeout=30) as client:
            # a burst of page views, each waiting on the database that never answers
            with ThreadPoolExecutor(max_workers=24) as pool:
                pages = [pool.submit(_timed, client, "/") for _ in range(24)]
                for _ in range(5):  # meanwhile these answer at once
                    assert _timed(client, "/static/app.css")[0] == 200
                    status, seconds, _text = _timed(client, "/livez")
                    assert status == 200 and seconds < 0.5
                answers = [p.result() for p in pages]
            assert all(status == 503 for status, _s, _t in answers)
            assert max(seconds for _st, seconds, _t in answers) < 6  # bounded, then refused
            # none claims anything was saved (the database's page, or the guard's own)
            assert all("tersimpan" in page and "is saved" not in page for _s, _t, page in answers)
            assert any("Basis data sedang tidak menjawab" in page for _s, _t, page in answers)
            status, seconds, _text = _timed(client, "/readyz")
            assert status == 503 and seconds < 3


@pytest.mark.postgresql  # SQLite's counterpart: the locked database below
def test_pooled_connections_to_a_database_that_stops_answering(db_url) -> None:
    real = make_url(db_url)
    with proxy((real.host or "127.0.0.1", real.port or 5432)) as link:
        url = real.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False)
        app = create_app(make_settings(url, **FAST))
        with serve(app, _free_port()) as base, httpx.Client(base_url=base, timeout=30) as client:
            assert _timed(client, ASKS_THE_DATABASE)[0] == 404  # the pool holds connections
            link.forwarding = False
            with ThreadPoolExecutor(max_workers=16) as pool:
                pages = [pool.submit(_timed, client, ASKS_THE_DATABASE) for _ in range(16)]
                assert _timed(client, "/static/app.css")[0] == 200
                assert _timed(client, "/livez")[0] == 200
                answers = [p.result() for p in pages]
            assert all(status == 503 for status, _s, _t in answers)
            assert max(seconds for _st, seconds, _t in answers) < 6
            link.forwarding = True  # the database is back: the app serves again
            deadline = time.monotonic() + 20
            while _timed(client, ASKS_THE_DATABASE)[0] != 404:
                assert time.monotonic() < deadline, "the app did not recover"


def test_a_locked_sqlite_database_refuses_a_write_in_bounded_time(tmp_path) -> None:
    """SQLite's counterpart of a database that does not answer: another process holds the
    write lock; reads go on (WAL), a write gives up after the busy timeout with 503."""
    from tests.conftest import _SqliteFactory

    url = _SqliteFactory(tmp_path).new(tmp_path)
    app = create_app(make_settings(url, **FAST))
    client = TestClient(app, base_url="http://testserver")
    assert csrf_from(client, "/register")
    blocker = create_engine(url).connect()
    blocker.exec_driver_sql("BEGIN EXCLUSIVE")
    try:
        began = time.monotonic()
        response = register(client)
        assert response.status_code == 503 and time.monotonic() - began < 5
        assert response.headers["Retry-After"] == "10"
        assert "mungkin belum tersimpan" in response.text
        assert client.get("/static/app.css").status_code == 200
    finally:
        blocker.rollback()
        blocker.close()
    assert register(client).status_code == 303  # the lock is gone: the same form goes through
    app.state.engine.dispose()


def test_requests_beyond_the_limit_get_503_at_once_but_answers_keep_their_share() -> None:
    """The guard alone, with a stand-in app that holds every request until released."""
    import asyncio

    from app.guard import Guard

    release = asyncio.Event()

    async def slow(scope, receive, send):  # type: ignore[no-untyped-def]
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = Guard(slow, limit=4, reserved=1, timeout=5)

    async def call(method: str, path: str) -> tuple[int, dict[bytes, bytes]]:
        sent: list[dict] = []

        async def send(message):  # type: ignore[no-untyped-def]
            sent.append(message)

        async def receive():  # type: ignore[no-untyped-def]
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": method, "path": path, "headers": []}
        await guard(scope, receive, send)
        return sent[0]["status"], dict(sent[0]["headers"])

    async def scenario() -> list[tuple[int, dict[bytes, bytes]]]:
        pages = [asyncio.ensure_future(call("GET", "/courses/x")) for _ in range(3)]
        await asyncio.sleep(0)  # they take the three places not reserved
        refused = await call("GET", "/courses/y")
        static = asyncio.ensure_future(call("GET", "/static/app.css"))
        answer = asyncio.ensure_future(call("POST", "/attempts/a1/answers/q1"))
        await asyncio.sleep(0)
        release.set()
        return [refused, *(await asyncio.gather(*pages, static, answer))]

    refused, *rest = asyncio.run(scenario())
    assert refused[0] == 503 and refused[1][b"retry-after"] == b"5"
    assert [status for status, _h in rest] == [200, 200, 200, 200, 200]
    assert guard.shed == 1 and guard.active == 0


def test_a_runaway_sqlite_statement_is_interrupted(tmp_path) -> None:
    """SQLite has no statement timeout: the progress handler stops a statement past it."""
    from sqlalchemy.exc import OperationalError

    from app.db import Limits, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", Limits(statement_timeout=0.3))
    endless = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    with engine.connect() as conn:
        began = time.monotonic()
        with pytest.raises(OperationalError, match="interrupted"):
            conn.execute(endless)
        assert time.monotonic() - began < 2
        assert conn.execute(text("SELECT 1")).scalar() == 1  # the connection goes on
    engine.dispose()


@pytest.mark.postgresql
def test_the_statement_timeout_comes_from_the_settings_or_behind_pgbouncer_from_the_pooler(
    db_url,
) -> None:
    """Direct, the app sets the statement timeout on each connection; behind PgBouncer in
    transaction mode it sets nothing (the pooler's connect_query does) and prepares nothing."""
    from sqlalchemy.exc import OperationalError

    from app.db import Limits, make_engine
    from tests.conftest import DIRECT_URL

    direct = make_url(DIRECT_URL).set(database=make_url(db_url).database)
    engine = make_engine(
        direct.render_as_string(hide_password=False), Limits(statement_timeout=0.3)
    )
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "300ms"
        began = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - began < 2
    engine.dispose()

    pooled = make_engine(db_url, Limits(statement_timeout=0.3, pooler="transaction"))
    with pooled.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() != "300ms"
        assert conn.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
    pooled.dispose()
