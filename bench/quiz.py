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

from app.clock import utcnow  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.main import prepare  # noqa: E402
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


def _learners(settings: Settings, count: int, offset: int = 0) -> list[str]:
    """`count` learners with a session each (created directly: registration is not measured)."""
    engine = make_engine(settings.database_url)
    tokens = []
    with Session(engine) as session:
        for i in range(offset, offset + count):
            user = User(
                nip=f"1990{1 + i // 999:02d}01201503{1 + i % 2}{i % 999 + 1:03d}",
                employment_type="PNS",
                name=f"Peserta {i}",
                email=f"peserta{i}@bench.go.id",
                password_hash="x",
                agency_id=1,
                work_unit="Bench",
                position="Bench",
                grade="III/a",
                email_verified_at=utcnow(),
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


def _wrk_requests(
    settings: Settings, tokens: list[str], quizzes, answer_phase: bool
) -> list[tuple[str, str, str]]:
    """(path, cookie, body) for wrk: every answer of one attempt per learner (answer phase), or
    one prepared attempt per learner and quiz, fully answered, to hand in (submit phase)."""
    from urllib.parse import urlencode

    from app.security import csrf_token, token_digest
    from modules.accounts.models import AuthSession
    from modules.courses.service import Catalogue
    from modules.learning import workflow
    from modules.quizzes import service as quiz_service

    engine = make_engine(settings.database_url)
    catalogue = Catalogue(engine)
    course = catalogue.get("berakhlak")
    assert course is not None
    rows = []
    with Session(engine, expire_on_commit=False) as session:
        for token in tokens:
            user_id = session.get(AuthSession, token_digest(token)).user_id  # type: ignore[union-attr]
            cookie_value = f"wrk{user_id:08d}csrfcookie0123456789"
            cookie = f"{SESSION_COOKIE}={token}; bk_csrf={cookie_value}"
            csrf = csrf_token(settings.secret_key, cookie_value)
            for quiz in quizzes if not answer_phase else quizzes[:1]:
                attempt = workflow.start_attempt(
                    session=session,
                    user_id=user_id,
                    course=course,
                    quiz=quiz,
                    catalogue=catalogue,
                )
                by_id = {q.id: q for q in quiz.questions}
                for drawn in quiz_service.layout(attempt):
                    value = best_answer(by_id[drawn.id])
                    if answer_phase:
                        body = urlencode(
                            {"csrf_token": csrf, **_form_fields(by_id[drawn.id], value)}, doseq=True
                        )
                        rows.append((f"/attempts/{attempt.id}/answers/{drawn.id}", cookie, body))
                    else:
                        quiz_service.save_answer(
                            session=session,
                            attempt=attempt,
                            quiz=quiz,
                            question_id=drawn.id,
                            value=value,
                        )
                if not answer_phase:
                    rows.append(
                        (f"/attempts/{attempt.id}/submit", cookie, urlencode({"csrf_token": csrf}))
                    )
    engine.dispose()
    return rows


def _wrk(
    port: int, rows: list[tuple[str, str, str]], repeat: bool, seconds: int, work: Path
) -> dict[str, float]:
    """Run wrk (2 threads, 32 connections) over the prepared requests; latency in ms."""
    import shutil
    import subprocess

    def lua(text: str) -> str:
        return "[==[" + text + "]==]"

    script = (ROOT / "bench" / "quiz_wrk.lua.tmpl").read_text()
    listing = ",\n".join("{" + ", ".join(lua(part) for part in row) + "}" for row in rows)
    script = (
        script.replace("%REQUESTS%", listing)
        .replace("%REPEAT%", "true" if repeat else "false")
        .replace("%THREADS%", "2")
    )
    path = work / ("answers.lua" if repeat else "submits.lua")
    path.write_text(script)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", str(path), f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    count, bad, p50, p95, p99, top = line.split()[1:]
    return {
        "count": float(count),
        "bad": float(bad),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "max": float(top),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=32)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes")
    parser.add_argument(
        "--submitters",
        type=int,
        default=100,
        help="learners whose prepared attempts (one per quiz) wrk hands in",
    )
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
        "BENCH_WORKERS": str(args.workers),
    }
    (work / "bare.html").write_bytes(b"")
    os.environ.update(env)
    settings = Settings()
    prepare(settings)
    tokens = _learners(settings, args.learners)
    courses, _ = load_content_dir(ROOT / "content")
    quiz = next(q for m in courses[0].content.modules for q in m.quizzes if q.id == QUIZ_ID)
    graded = [q for m in courses[0].content.modules for q in m.quizzes if not q.self_assessment]
    answer_rows = _wrk_requests(settings, _learners(settings, 32, offset=1000), [quiz], True)
    submit_rows = _wrk_requests(
        settings, _learners(settings, args.submitters, offset=2000), graded, False
    )
    port = _free_port()
    server: dict[str, list[float]] = {"start": [], "answer": [], "submit": []}
    with _server(port, env, "bench.quiz:make_app"):
        timings = asyncio.run(_run(f"http://127.0.0.1:{port}", tokens, quiz))
        for line in (work / "server.txt").read_text().splitlines():  # the journeys only
            kind, seconds = line.split()
            server[kind].append(float(seconds))
        wrk_answers = _wrk(port, answer_rows, True, 10, work)
        wrk_submits = _wrk(port, submit_rows, False, 30, work)
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
    print(
        "\nwrk, 32 connections without pause (a C client, so the server keeps the CPU; the "
        "hand-ins are a stress test: 32 at every moment, not 32 learners handing in once):\n"
    )
    print("| request | count | non-2xx/3xx | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|---|")
    for kind, result in (("answer", wrk_answers), ("submit", wrk_submits)):
        print(
            f"| {kind} | {result['count']:.0f} | {result['bad']:.0f} | {result['p50']:.1f} | "
            f"{result['p95']:.1f} | {result['p99']:.1f} | {result['max']:.1f} |"
        )
    journey_submit = _p(timings["submit"], 0.95)
    worst = max(wrk_answers["p95"], journey_submit)
    print(
        f"\nbudget p95 < 100 ms (answers under wrk, hand-ins of the 32 journeys): "
        f"{'met' if worst < 100 else 'MISSED'} (answer {wrk_answers['p95']:.1f} ms, "
        f"hand-in {journey_submit:.1f} ms)"
    )


if __name__ == "__main__":
    main()
