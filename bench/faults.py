"""Faults under load: does the platform lose or double anything it acknowledged?

Learners who have done everything but the last quiz take it at once, through the real server
(uvicorn, the worker inside it), saving answers as htmx would and handing in, while a fault is
injected; each then hands in until they pass, which completes the course and owes a
certificate. Afterwards, with the fault gone and the worker drained, the database is compared
with what the server acknowledged:

- lost answers: an answer the server said was saved (200) that the database does not hold
  (neither it nor an answer sent after it);
- lost hand-ins: a hand-in the server answered (303) whose attempt is not handed in;
- lost certificates: a completed course without its certificate;
- doubled: more than one certificate for a completion, a certificate serial used twice or
  skipped in a year, a quiz graded twice (two pass events).

Scenarios (each on a fresh database):
- `kill`: the server killed with SIGKILL three times under load, restarted each time;
- `outage` (PostgreSQL): the database refuses connections for 3 s (a TCP proxy in between
  resets every connection and refuses new ones);
- `blackhole` (PostgreSQL): the database stops answering for 6 s (the proxy holds every byte);
- `flood`: page views from 300 connections (wrk), three times the concurrency limit, for 70 %
  of the run: the share of answer saves answered 200 (at least 99 % is the budget) and the
  share of page views refused with 503; `flood-unshed` is the same with shedding out of the
  way (a limit of 10,000), for comparison;
- `disk-full` (SQLite): the database's file system (a 64 MB tmpfs, needs root) is filled for
  40 % of the run.

Run: `.venv/bin/python bench/faults.py [--database-url postgresql+psycopg://...]
[--learners 24] [--only kill,...]`. Prints one line per scenario."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel import Session, col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lesson_page import _free_port, parse_wrk  # noqa: E402
from quiz import _form_fields  # noqa: E402

from app.clock import utcnow  # noqa: E402
from app.jobs import DONE, Job  # noqa: E402
from app.main import build_state, prepare  # noqa: E402
from app.security import SESSION_COOKIE  # noqa: E402
from app.settings import Settings  # noqa: E402
from modules.accounts import service as accounts_service  # noqa: E402
from modules.accounts.models import User  # noqa: E402
from modules.certificates.models import Certificate  # noqa: E402
from modules.certificates.service import ISSUE_JOB  # noqa: E402
from modules.learning import rules, workflow  # noqa: E402
from modules.progress.models import CourseCompletion  # noqa: E402
from modules.quizzes import service as quizzes  # noqa: E402
from modules.quizzes.grading import best_answer  # noqa: E402
from modules.quizzes.models import QuizAnswer, QuizAttempt  # noqa: E402

COURSE = "berakhlak"
LAST_QUIZ = "akuntabel-kuis"
QUIZ_URL = f"/courses/{COURSE}/quizzes/{LAST_QUIZ}"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
QUESTION_IDS = re.compile(r'fieldset class="card question" id="q-([a-z0-9-]+)"')
SECRET = "faults-bench-secret-that-is-long-enough-0123456789"
FLOOD_CONNECTIONS = 300  # page views at three times BERAKHLAK_MAX_CONCURRENT_REQUESTS (100)


# ---- a TCP proxy between the app and PostgreSQL ----------------------------------------------


class Proxy:
    """Forwards 127.0.0.1:port to the database; `outage` resets every connection and refuses
    new ones; `blackhole` accepts and holds every byte, answering nothing."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = _free_port()
        self.mode = "forward"
        self.flowing = threading.Event()
        self.flowing.set()
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, mode: str) -> None:
        self.mode = mode
        if mode == "forward":
            self.flowing.set()
            return
        self.flowing.clear()
        if mode == "outage":
            with self.lock:
                for sock in list(self.sockets):
                    with suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                        sock.close()
                self.sockets.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if self.mode == "outage":
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self.flowing.wait()
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        with self.lock:
            self.sockets |= {client, server}
        for source, target in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with suppress(OSError):
                sock.close()


# ---- the server ----------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app"]
        argv += ["--port", str(self.port), "--log-level", "critical", "--no-access-log"]
        log = Path(self.env["BERAKHLAK_EXPORT_DIR"]).parent / "server.log"
        with log.open("ab") as output:  # the server's own log lines, out of the report
            self.process = subprocess.Popen(  # noqa: S603
                argv, cwd=ROOT, env=self.env, stdout=output, stderr=output
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/livez", timeout=2).status_code == 200:
                    return
            time.sleep(0.05)
        log = Path(self.env["BERAKHLAK_EXPORT_DIR"]).parent / "server.log"
        raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


# ---- the learners --------------------------------------------------------------------------


def _prepare_learners(settings: Settings, count: int) -> list[str]:
    """`count` learners who have done every lesson and passed every quiz but the last one, as
    the workflow records them; their session tokens."""
    state = build_state(settings)
    course = state.catalogue.get(COURSE)
    tokens = []
    with Session(state.engine, expire_on_commit=False) as session:
        for i in range(count):
            user = User(
                nip=f"19900101201503{1 + i % 2}{i + 1:03d}",
                employment_type="PNS",
                name=f"Peserta Uji {i}",
                email=f"uji{i}@faults.go.id",
                password_hash="x",
                agency_id=1,
                work_unit="Uji",
                position="Analis",
                grade="III/a",
                email_verified_at=utcnow(),
            )
            session.add(user)
            session.commit()
            assert user.id is not None
            for module in course.content.modules:
                for lesson in module.lessons:
                    workflow.lesson_done(
                        session=session, user_id=user.id, course=course, lesson_id=lesson.id
                    )
            for quiz in rules.graded_quizzes(course):
                if quiz.id == LAST_QUIZ:
                    continue
                attempt = workflow.start_attempt(
                    session=session,
                    user_id=user.id,
                    course=course,
                    quiz=quiz,
                    catalogue=state.catalogue,
                )
                drawn = {d.id for d in quizzes.layout(attempt)}
                for question in (q for q in quiz.questions if q.id in drawn):
                    quizzes.save_answer(
                        session=session,
                        attempt=attempt,
                        quiz=quiz,
                        question_id=question.id,
                        value=best_answer(question),
                    )
                workflow.hand_in(session=session, attempt=attempt, catalogue=state.catalogue)
            tokens.append(accounts_service.start_session(session=session, user=user, days=1))
    state.engine.dispose()
    return tokens


class Ledger:
    """What the server acknowledged, and what was sent after it."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.acked: dict[tuple[str, str], int] = {}
        self.handed_in: set[str] = set()
        self.saves = 0  # answer saves acknowledged
        self.save_seconds: list[float] = []  # each save's time to answer (acknowledged or not)
        self.requests = 0
        self.errors = 0


def _some_answer(question: Any, rng: random.Random) -> Any:
    if question.type in ("single", "scenario"):
        return rng.randrange(len(question.options))
    return best_answer(question)


async def _learner(
    base: str,
    token: str,
    quiz: Any,
    scale: int,
    ledger: Ledger,
    window: tuple[float, float],
    seed: int,
) -> None:
    """Answers and changes answers until a moment of its own within the window (so that
    saves and hand-ins happen before, during and after the fault), then answers right and
    hands in, again until it passes or the window's end (plus time to recover) is reached."""
    rng = random.Random(seed)
    begin, end = window
    hand_in_at = begin + rng.uniform(0.2, 0.9) * (end - begin)
    until = end + (end - begin)
    by_id = {q.id: q for q in quiz.questions}
    async with httpx.AsyncClient(base_url=base, cookies={SESSION_COOKIE: token}, timeout=15) as c:
        passed = False
        while not passed and time.monotonic() < until:
            try:
                page = await c.get(QUIZ_URL)
                csrf = CSRF.search(page.text)
                if page.status_code != 200 or csrf is None:
                    raise ConnectionError(page.status_code)
                started = await c.post(
                    f"{QUIZ_URL}/start", data={"csrf_token": csrf.group(1)}, follow_redirects=True
                )
                if "/attempts/" not in str(started.url):
                    if "habis" in started.text or "exhausted" in started.text:
                        return  # no attempt left
                    raise ConnectionError(started.status_code)
                attempt = str(started.url).rstrip("/").rsplit("/", 1)[-1]
                page = await c.get(f"/attempts/{attempt}")
                csrf = CSRF.search(page.text)
                ids = QUESTION_IDS.findall(page.text)
                if csrf is None or not ids:
                    raise ConnectionError(page.status_code)
                while True:
                    final = time.monotonic() >= hand_in_at
                    right = True  # every answer of the final round acknowledged
                    for qid in ids:
                        question = by_id[qid]
                        value = best_answer(question) if final else _some_answer(question, rng)
                        key = (attempt, qid)
                        ledger.sent[key].append(quizzes.check_answer(question, value, scale))
                        ledger.requests += 1
                        asked = time.monotonic()
                        saved = await c.post(
                            f"/attempts/{attempt}/answers/{qid}",
                            data={"csrf_token": csrf.group(1), **_form_fields(question, value)},
                            headers={"HX-Request": "true"},
                        )
                        ledger.save_seconds.append(time.monotonic() - asked)
                        if saved.status_code == 200:
                            ledger.acked[key] = len(ledger.sent[key]) - 1
                            ledger.saves += 1
                        else:
                            ledger.errors += 1
                            right = False
                    if final:
                        break
                done = await c.post(
                    f"/attempts/{attempt}/submit",
                    data={"csrf_token": csrf.group(1)},
                    follow_redirects=False,
                )
                ledger.requests += 1
                if done.status_code == 303:
                    ledger.handed_in.add(attempt)
                    passed = right  # else the next attempt
                else:
                    ledger.errors += 1
            except (httpx.HTTPError, ConnectionError):
                ledger.errors += 1
                await asyncio.sleep(0.2)


# ---- the checks ----------------------------------------------------------------------------


def _count(settings: Settings, ledger: Ledger) -> dict[str, int]:
    state = build_state(settings)
    found: dict[str, int] = {}
    with Session(state.engine) as session:
        stored = {
            (a.attempt_id, a.question_id): json.loads(a.value)
            for a in session.exec(select(QuizAnswer)).all()
        }
        lost = 0
        for key, index in ledger.acked.items():
            if key not in stored or stored[key] not in ledger.sent[key][index:]:
                lost += 1
        found["saves acknowledged"] = ledger.saves
        found["lost answers"] = lost
        attempts = {a.id: a for a in session.exec(select(QuizAttempt)).all()}
        found["lost hand-ins"] = sum(
            1 for a in ledger.handed_in if attempts.get(a) is None or not attempts[a].submitted_at
        )
        completions = session.exec(select(CourseCompletion)).all()
        certificates = session.exec(select(Certificate)).all()
        per_completion: dict[tuple[int, str], int] = defaultdict(int)
        for certificate in certificates:
            per_completion[(certificate.user_id, certificate.course_id)] += 1
        found["completions"] = len(completions)
        owed = {
            (job.user_id, job.data().get("course_id"))
            for job in session.exec(
                select(Job).where(Job.kind == ISSUE_JOB, col(Job.status) != DONE)
            ).all()
        }
        missing = [c for c in completions if per_completion[(c.user_id, c.course_id)] == 0]
        found["certificates still owed (retrying)"] = sum(
            1 for c in missing if (c.user_id, c.course_id) in owed
        )
        found["lost certificates"] = sum(1 for c in missing if (c.user_id, c.course_id) not in owed)
        doubled = sum(n - 1 for n in per_completion.values() if n > 1)
        by_year: dict[tuple[int, int], list[int]] = defaultdict(list)
        for certificate in certificates:
            by_year[(certificate.generation, certificate.year)].append(certificate.serial)
        for serials in by_year.values():
            doubled += len(serials) - len(set(serials))
            doubled += max(serials) - len(set(serials))  # a skipped serial
        passes = session.connection().execute(
            text(
                "SELECT count(*) - count(DISTINCT user_id) FROM learning_event "
                "WHERE kind = 'quiz_passed' AND subject = :quiz"
            ),
            {"quiz": LAST_QUIZ},
        )
        doubled += int(passes.scalar_one())
        found["doubled"] = doubled
    state.engine.dispose()
    return found


def _drain(settings: Settings) -> None:
    """Run what the worker still owes (as a worker would after the fault)."""
    from app.main import make_worker

    state = build_state(settings)
    make_worker(state).run_until_idle()
    state.engine.dispose()


# ---- scenarios -----------------------------------------------------------------------------


def _fresh(url: str, name: str, folder: Path) -> str:
    if not url:
        return f"sqlite:///{folder / f'{name}.db'}"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    database = f"{base.database}_faults_{name}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return base.set(database=database).render_as_string(hide_password=False)


def _env(url: str, folder: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return {
        **inherited,
        "BERAKHLAK_DATABASE_URL": url,
        "BERAKHLAK_SECRET_KEY": SECRET,
        "BERAKHLAK_ENVIRONMENT": "test",
        "BERAKHLAK_WORKER_IN_PROCESS": "on",
        "BERAKHLAK_REQUEST_TIMEOUT_SECONDS": "5",
        "BERAKHLAK_DB_CONNECT_TIMEOUT_SECONDS": "2",
        "BERAKHLAK_DB_STATEMENT_TIMEOUT_SECONDS": "5",
        "BERAKHLAK_DB_POOL_TIMEOUT_SECONDS": "3",
        "BERAKHLAK_DB_BUSY_TIMEOUT_SECONDS": "5",
        "BERAKHLAK_ISSUANCE_LOG": str(folder / "issuance-log.jsonl"),
        "BERAKHLAK_EXPORT_DIR": str(folder / "exports"),
        "BERAKHLAK_CERTIFICATE_CACHE_DIR": str(folder / "pdf"),
        "BERAKHLAK_METRICS_DIR": str(folder / "metrics"),
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _settings(url: str, folder: Path) -> Settings:
    values = {
        name.removeprefix("BERAKHLAK_").lower(): value
        for name, value in _env(url, folder).items()
        if name.startswith("BERAKHLAK_")
    }
    return Settings(**values)  # type: ignore[arg-type]


def run(
    name: str, url: str, learners: int, seconds: float, folder: Path, sabotage: bool = False
) -> dict[str, Any]:
    work = folder / name
    work.mkdir(parents=True)
    proxy = None
    mount = None
    if name == "disk-full":
        mount = work / "disk"
        mount.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)  # noqa: S603, S607
        database = f"sqlite:///{mount / 'berakhlak.db'}"
    else:
        database = _fresh(url, name.replace("-", "_"), work)
    direct = _settings(database, work)
    prepare(direct)
    tokens = _prepare_learners(direct, learners)
    served = database
    if name in ("outage", "blackhole"):
        from sqlalchemy.engine import make_url

        parsed = make_url(database)
        proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        served = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = _env(served, work)
    if name == "flood-unshed":  # the same flood with shedding out of the way, for comparison
        env["BERAKHLAK_MAX_CONCURRENT_REQUESTS"] = "10000"
    server = Server(env)
    server.start()
    state = build_state(direct)
    course = state.catalogue.get(COURSE)
    found_quiz = course.quiz(LAST_QUIZ)
    assert found_quiz is not None
    quiz = found_quiz[1]
    scale = len(quiz.scale)
    state.engine.dispose()
    ledger = Ledger()
    window = (time.monotonic(), time.monotonic() + seconds)

    async def load() -> None:
        await asyncio.gather(
            *(
                _learner(server.base, token, quiz, scale, ledger, window, seed)
                for seed, token in enumerate(tokens)
            )
        )

    def inject() -> None:
        time.sleep(seconds * 0.15)
        if name == "kill":
            for _ in range(3):
                server.kill()
                server.start()
                time.sleep(seconds * 0.2)
        elif name in ("outage", "blackhole"):
            assert proxy is not None
            proxy.set(name)
            time.sleep(3 if name == "outage" else 6)
            proxy.set("forward")
        elif name.startswith("flood"):
            out = subprocess.run(  # noqa: S603
                [
                    "wrk",
                    "-t2",
                    f"-c{FLOOD_CONNECTIONS}",
                    f"-d{int(seconds * 0.7)}s",
                    "--latency",
                    "-H",
                    f"Cookie: {SESSION_COOKIE}={tokens[0]}",
                    f"{server.base}/courses/{COURSE}/lessons/{course.lesson_ids[1]}",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            flood.update(parse_wrk(out))
            total = re.search(r"(\d+) requests in", out)
            flood["views"] = float(total.group(1)) if total else 0.0
        elif name == "disk-full":
            assert mount is not None
            filler = mount / "filler"
            with suppress(OSError), filler.open("ab") as grow:
                while True:
                    grow.write(b"\0" * 65536)
                    grow.flush()
            time.sleep(seconds * 0.4)
            filler.unlink()

    flood: dict[str, float] = {}
    faults = threading.Thread(target=inject)
    began = time.monotonic()
    faults.start()
    asyncio.run(load())
    faults.join()
    took = time.monotonic() - began
    server.stop()
    _drain(direct)
    if sabotage:  # the checker's own test: what it must find when something is lost
        state = build_state(direct)
        with state.engine.begin() as conn:
            conn.execute(
                text("DELETE FROM quiz_answer WHERE attempt_id = :a"),
                {"a": next(iter(ledger.acked))[0]},
            )
            conn.execute(
                text("DELETE FROM certificate WHERE id = (SELECT max(id) FROM certificate)")
            )
        state.engine.dispose()
    found = _count(direct, ledger)
    found["requests"] = ledger.requests
    found["failed requests"] = ledger.errors
    if flood:
        saves = len(ledger.save_seconds)
        found["saves answered 200"] = f"{100 * ledger.saves / max(saves, 1):.2f} %"
        found["save p99"] = f"{1000 * _quantile(ledger.save_seconds, 0.99):.0f} ms"
        found["page views"] = int(flood["views"])
        found["page views refused (503)"] = f"{100 * flood['bad'] / max(flood['views'], 1):.1f} %"
        found["page view p99"] = f"{flood['p99']:.0f} ms"
    found["seconds"] = round(took, 1)
    if mount is not None:
        subprocess.run(["umount", str(mount)], check=False)  # noqa: S603, S607
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server for scratch databases (default: SQLite)",
    )
    parser.add_argument("--learners", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--only", default="", help="comma-separated scenarios")
    parser.add_argument(
        "--sabotage",
        action="store_true",
        help="test the checker: delete one attempt's answers and one certificate before counting",
    )
    args = parser.parse_args()
    names = ["kill", "outage", "blackhole"] if args.database_url else ["kill", "disk-full"]
    names += ["flood", "flood-unshed"]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="berakhlak-faults-"))
    engine = "PostgreSQL" if args.database_url else "SQLite"
    try:
        for name in names:
            found = run(name, args.database_url, args.learners, args.seconds, folder, args.sabotage)
            print(
                f"{engine} {name}: " + ", ".join(f"{k} {v}" for k, v in found.items()), flush=True
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
