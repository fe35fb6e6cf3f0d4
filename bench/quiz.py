"""Quiz benchmark: latency (median, p95) of saving an answer and of handing in, with 32
learners taking the same quiz at once, on SQLite or PostgreSQL.

Run: `.venv/bin/python bench/quiz.py [--learners 32] [--database-url postgresql+psycopg://...]`.
One uvicorn process serves the real app; an asyncio client plays the learners (each: start,
open the attempt, answer every question as htmx would, hand in). Budget: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lesson_page import _free_port, _scratch_database, _server  # noqa: E402

from app.cli import prepare  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.security import SESSION_COOKIE  # noqa: E402
from app.settings import Settings  # noqa: E402
from modules.accounts import service as accounts_service  # noqa: E402
from modules.accounts.models import User  # noqa: E402
from modules.courses.content import load_content_dir  # noqa: E402
from modules.quizzes.grading import best_answer  # noqa: E402

QUIZ_ID = "akuntabel-kuis"
QUIZ = f"/courses/berakhlak/quizzes/{QUIZ_ID}"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class _ServerTiming:
    """ASGI middleware: time from request to last response byte, per request kind, appended to
    a file (the client shares the CPU, so its view includes its own delays)."""

    def __init__(self, app, path: str) -> None:  # type: ignore[no-untyped-def]
        self.app, self.path = app, path

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        kind = (
            "answer"
            if "/answers/" in scope["path"]
            else "submit"
            if scope["path"].endswith("/submit")
            else "start"
        )
        begin = time.perf_counter()
        await self.app(scope, receive, send)
        with open(self.path, "a") as fh:  # noqa: ASYNC230 - a benchmark probe
            fh.write(f"{kind} {time.perf_counter() - begin}\n")


def make_app():  # type: ignore[no-untyped-def]
    """The real app, timed (uvicorn factory for this benchmark)."""
    from app.main import create_app

    return _ServerTiming(create_app(), os.environ["BENCH_TIMING_FILE"])


def _learners(settings: Settings, count: int) -> list[str]:
    """`count` learners with a session each (created directly: registration is not measured)."""
    engine = make_engine(settings.database_url)
    tokens = []
    with Session(engine) as session:
        for i in range(count):
            user = User(
                nip=f"19900101201503{1 + i % 2}{i + 1:03d}",
                employment_type="PNS",
                name=f"Peserta {i}",
                email=f"peserta{i}@bench.go.id",
                password_hash="x",
                agency_id=1,
                work_unit="Bench",
                position="Bench",
                grade="III/a",
            )
            session.add(user)
            session.commit()
            tokens.append(accounts_service.start_session(session=session, user=user, days=1))
    engine.dispose()
    return tokens


def _form_fields(question, value) -> dict[str, object]:
    name = f"q-{question.id}"
    if question.type == "multiple":
        return {name: [str(v) for v in value]}
    if question.type == "matching":
        return {f"{name}-{i}": str(v) for i, v in enumerate(value)}
    if question.type == "ordering":
        return {f"{name}-{item}": str(pos + 1) for pos, item in enumerate(value)}
    return {name: str(value)}


async def _learner(base: str, token: str, quiz, timings: dict[str, list[float]]) -> None:
    by_id = {q.id: q for q in quiz.questions}
    async with httpx.AsyncClient(
        base_url=base, cookies={SESSION_COOKIE: token}, timeout=30
    ) as client:
        page = await client.get(QUIZ)
        csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        begin = time.perf_counter()
        started = await client.post(
            f"{QUIZ}/start", data={"csrf_token": csrf}, follow_redirects=True
        )
        attempt_url = str(started.url)
        timings["start"].append(time.perf_counter() - begin)
        page = await client.get(attempt_url)
        csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        ids = re.findall(r'fieldset class="card question" id="q-([a-z0-9-]+)"', page.text)
        assert len(ids) == 8, attempt_url
        for qid in ids:
            data = {"csrf_token": csrf, **_form_fields(by_id[qid], best_answer(by_id[qid]))}
            begin = time.perf_counter()
            saved = await client.post(
                f"{attempt_url}/answers/{qid}", data=data, headers={"HX-Request": "true"}
            )
            timings["answer"].append(time.perf_counter() - begin)
            assert saved.status_code == 200, saved.status_code
        begin = time.perf_counter()
        done = await client.post(
            f"{attempt_url}/submit", data={"csrf_token": csrf}, follow_redirects=False
        )
        timings["submit"].append(time.perf_counter() - begin)
        assert done.status_code == 303, done.status_code


async def _run(base: str, tokens: list[str], quiz) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"start": [], "answer": [], "submit": []}
    await asyncio.gather(*(_learner(base, t, quiz, timings) for t in tokens))
    return timings


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=32)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-quiz-"))
    url = _scratch_database(args.database_url) if args.database_url else f"sqlite:///{work}/q.db"
    env = {
        **os.environ,
        "BERAKHLAK_DATABASE_URL": url,
        "BERAKHLAK_ENVIRONMENT": "production",
        "BERAKHLAK_SECRET_KEY": "q" * 48,
        "BENCH_BARE_FILE": str(work / "bare.html"),
        "BENCH_TIMING_FILE": str(work / "server.txt"),
    }
    (work / "bare.html").write_bytes(b"")
    os.environ.update(env)
    settings = Settings()
    prepare(settings)
    tokens = _learners(settings, args.learners)
    courses, _ = load_content_dir(ROOT / "content")
    quiz = next(q for m in courses[0].content.modules for q in m.quizzes if q.id == QUIZ_ID)
    port = _free_port()
    with _server(port, env, "bench.quiz:make_app"):
        timings = asyncio.run(_run(f"http://127.0.0.1:{port}", tokens, quiz))
    server: dict[str, list[float]] = {"start": [], "answer": [], "submit": []}
    for line in (work / "server.txt").read_text().splitlines():
        kind, seconds = line.split()
        server[kind].append(float(seconds))
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"database: {engine}; {args.learners} learners at once, {len(quiz.questions)}-question "
        f"bank, {len(timings['answer']) // args.learners} questions each\n"
    )
    print("| request | seen by | count | median (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|")
    for kind in ("start", "answer", "submit"):
        for who, source in (("client", timings), ("server", server)):
            values = source[kind]
            print(
                f"| {kind} | {who} | {len(values)} | {statistics.median(values) * 1000:.1f} | "
                f"{_p(values, 0.95):.1f} | {max(values) * 1000:.1f} |"
            )
    print()
    for who, source in (("client", timings), ("server", server)):
        worst = max(_p(source["answer"], 0.95), _p(source["submit"], 0.95))
        print(
            f"budget p95 < 100 ms for answering and handing in, seen by the {who}: "
            f"{'met' if worst < 100 else 'MISSED'} ({worst:.1f} ms)"
        )


if __name__ == "__main__":
    main()
