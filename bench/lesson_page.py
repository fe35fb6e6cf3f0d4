"""Lesson page benchmark: a logged-in learner's lesson page against a bare endpoint of the same
app returning the same bytes, plus the bytes a first and a repeat lesson visit transfer.

Run: `make bench` (or `.venv/bin/python bench/lesson_page.py [--seconds 10 --connections 16]`).
Needs wrk (Debian package). Prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import privacy  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.main import create_app, prepare  # noqa: E402
from app.security import SESSION_COOKIE  # noqa: E402
from app.settings import Settings  # noqa: E402
from modules.accounts import service as accounts_service  # noqa: E402
from modules.accounts.schemas import parse_registration  # noqa: E402
from modules.agencies import service as agencies_service  # noqa: E402

LESSON = "/courses/berakhlak/lessons/akuntabel-kasus-pengadaan-apbd"
BARE = "/_bench/bare"
PASSWORD = "kata-sandi-uji-beban-1"


def make_app() -> FastAPI:
    """The real app plus one bare route that returns the recorded lesson bytes (uvicorn factory)."""
    app = create_app()
    body = Path(os.environ["BENCH_BARE_FILE"]).read_bytes()

    @app.get(BARE)
    def bare() -> HTMLResponse:
        return HTMLResponse(body)

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _learner_token(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        agency = agencies_service.get_by_code(session=session, code="LB-BKN")
        assert agency and agency.id
        data = parse_registration(
            {
                "nip": "199001012015031001",
                "name": "Bench Learner",
                "email": "bench@bkn.go.id",
                "agency_id": str(agency.id),
                "work_unit": "Bench",
                "position": "Bench",
                "grade": "III/a",
                "password": PASSWORD,
                "password_confirm": PASSWORD,
                "privacy": "yes",
            },
            {agency.id},
        )
        # the privacy notice acknowledged, as at registration (else every page shows it first)
        user = accounts_service.register(
            session=session, data=data, verified=True, privacy_version=privacy.version(settings)
        )
        token = accounts_service.start_session(session=session, user=user, days=1)
    engine.dispose()
    return token


def _wrk(url: str, token: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Cookie: {SESSION_COOKIE}={token}",
            "-H",
            "Accept-Encoding: gzip",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    """Requests per second, p50/p99 in ms and non-2xx/3xx count from `wrk --latency` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)

    def ms(match: re.Match[str] | None) -> float:
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {
        "rps": rps,
        "p50": ms(p50),
        "p99": ms(p99),
        "bad": float(errors.group(1)) if errors else 0.0,
    }


def _transfer(base: str, token: str) -> dict[str, int]:
    """Bytes on the wire (headers + compressed bodies) for a first and a repeat lesson visit."""
    sizes: dict[str, int] = {}
    with httpx.Client(
        base_url=base, headers={"Accept-Encoding": "gzip"}, cookies={SESSION_COOKIE: token}
    ) as client:
        page = client.get(LESSON)
        page.read()

        def wire(resp: httpx.Response) -> int:
            head = sum(len(k) + len(v) + 4 for k, v in resp.headers.raw) + 17
            return head + resp.num_bytes_downloaded

        sizes["html"] = wire(page)
        # Every static file the page references (CSS, scripts, icon), as a browser fetches them.
        for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
            resp = client.get(url.replace("&amp;", "&"))
            resp.read()
            sizes[url.split("?")[0].rsplit("/", 1)[-1]] = wire(resp)
    return sizes


@contextlib.contextmanager
def _server(
    port: int, env: dict[str, str], factory: str = "bench.lesson_page:make_app"
) -> Iterator[None]:
    """uvicorn serving an app factory on `port` until the block ends."""
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        os.environ.get("BENCH_WORKERS", "1"),
    ]
    server = subprocess.Popen(argv, cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield
    finally:
        server.terminate()
        server.wait()


def _scratch_database(url: str) -> str:
    """A fresh database `<name>_bench_lesson` on the server of `url`."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_bench_lesson"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL of a server where a scratch database may be made "
        "(default: a temporary SQLite file)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-lesson-"))
    database_url = (
        _scratch_database(args.database_url) if args.database_url else f"sqlite:///{work}/bench.db"
    )
    env = {
        **os.environ,
        "BERAKHLAK_DATABASE_URL": database_url,
        "BERAKHLAK_ENVIRONMENT": "production",
        "BERAKHLAK_SECRET_KEY": "b" * 48,
        "BENCH_BARE_FILE": str(work / "lesson.html"),
    }
    os.environ.update(env)
    settings = Settings()
    prepare(settings)
    token = _learner_token(settings)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    (work / "lesson.html").write_bytes(b"")
    # First pass: record the lesson page's exact bytes for the bare endpoint.
    with _server(port, env):
        lesson = httpx.get(base + LESSON, cookies={SESSION_COOKIE: token})
        assert lesson.status_code == 200, lesson.status_code
        (work / "lesson.html").write_bytes(lesson.content)
    try:
        with _server(port, env):
            assert httpx.get(base + BARE).content == lesson.content
            _wrk(base + LESSON, token, 2, args.connections)  # warm up
            page = _wrk(base + LESSON, token, args.seconds, args.connections)
            bare = _wrk(base + BARE, token, args.seconds, args.connections)
            sizes = _transfer(base, token)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first = sum(sizes.values())
    ratio = page["rps"] / bare["rps"]
    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite'}\n")
    print("| measure | lesson page | bare endpoint |\n|---|---|---|")
    print(
        f"| requests/s ({args.connections} connections, {args.seconds}s, gzip) | "
        f"{page['rps']:.0f} | {bare['rps']:.0f} |"
    )
    print(
        f"| latency p50 / p99 (ms) | {page['p50']:.1f} / {page['p99']:.1f} | "
        f"{bare['p50']:.1f} / {bare['p99']:.1f} |"
    )
    print(f"| non-2xx responses | {page['bad']:.0f} | {bare['bad']:.0f} |")
    print(f"\nlesson page / bare endpoint throughput: {ratio:.2f} (budget ≥ 0.50)")
    print(
        f"first lesson visit: {first / 1024:.1f} KB on the wire "
        f"({', '.join(f'{name} {size}' for name, size in sizes.items())} bytes; "
        f"budget < 50 KB)"
    )
    print(f"repeat lesson visit: {sizes['html'] / 1024:.1f} KB (html only; static files cached)")
    if ratio < 0.5 or first >= 50 * 1024:
        print("BUDGET MISSED")


if __name__ == "__main__":
    main()
