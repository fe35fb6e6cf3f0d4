"""Old and new commit, interleaved: the lesson page and quiz benchmarks against two revisions of
the app in one run, so that both meet the same machine, load and temperature.

Run: `.venv/bin/python bench/compare.py OLD_REV NEW_REV [--reps 5] [--database both]`
(needs wrk). Prints a markdown table for docs/benchmarks.md and writes every raw figure to
bench/results/compare-<time>.json.

The code under test is touched only from the outside, so that a refactor of its internals
cannot break the harness: each revision is checked out into its own temporary `git worktree`,
started with its own command line (`berakhlak serve`, which migrates, seeds the agencies and
syncs the shipped course) on a fresh scratch database, and driven over HTTP only: learners
register through the /register form and log in through /login, and the quiz is taken by
reading the attempt page's HTML and posting what a browser with htmx would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LESSON = "/courses/berakhlak/lessons/akuntabel-kasus-pengadaan-apbd"
QUIZ = "/courses/berakhlak/quizzes/akuntabel-kuis"
PASSWORD = "kata-sandi-uji-beban-1"
SECRET = "compare-bench-secret-" + "x" * 32
# `serve` as the console script runs it; both revisions must have it (checked first).
SERVE = "from app.cli import main; main()"
SIDES = ("old", "new")
WARM_UP_SECONDS = 2

# (key, label, True when higher is better, judged against BAR). The bar is on the rates;
# the server's CPU costs are judged too, as the cross-check that other load hardly moves.
LESSON_MEASURES = [
    ("rps", "lesson page req/s", True, True),
    ("p50", "lesson page p50 ms", False, False),
    ("p99", "lesson page p99 ms", False, False),
    ("cpu_ms_per_request", "lesson page, server CPU ms per request", False, True),
]
# the plain app is the same on both sides: a gauge of the machine's state during each run
BARE_MEASURES = [
    ("bare_rps", "plain FastAPI, same bytes, req/s", True, False),
    ("bare_ratio", "lesson / plain FastAPI", True, False),
]
QUIZ_MEASURES = [
    ("journeys_per_s", "quiz journeys/s", True, True),
    ("cpu_ms_per_journey", "quiz, server CPU ms per journey", False, True),
    ("answer_p50", "answer save p50 ms", False, False),
    ("answer_p95", "answer save p95 ms", False, False),
    ("submit_p50", "hand-in p50 ms", False, False),
    ("submit_p95", "hand-in p95 ms", False, False),
    ("start_p50", "start (POST + attempt page) p50 ms", False, False),
    ("journey_p50", "start to review p50 ms", False, False),
]
BAR = 0.95


# --- HTML forms, read the way a browser sees them ---------------------------------------------


@dataclass
class Field:
    tag: str  # input, select or textarea
    type: str
    name: str
    value: str
    checked: bool = False
    options: list[str] = field(default_factory=list)
    required: bool = False


@dataclass
class Group:
    """A fieldset that htmx posts on change (one quiz question)."""

    url: str
    fields: list[Field] = field(default_factory=list)


@dataclass
class Form:
    action: str
    fields: list[Field] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    formactions: list[str] = field(default_factory=list)


class PageParser(HTMLParser):
    """Forms, their fields and htmx fieldsets, plus the headers htmx adds (`hx-headers` on
    the body): everything the harness needs without importing the app's parsers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.hx_headers: dict[str, str] = {}
        self._form: Form | None = None
        self._groups: list[Group | None] = []  # one per open fieldset
        self._select: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "body" and a.get("hx-headers"):
            self.hx_headers = json.loads(a["hx-headers"])
        elif tag == "form":
            self._form = Form(action=a.get("action", ""))
            self.forms.append(self._form)
        elif tag == "fieldset":
            group = Group(url=a["hx-post"]) if "hx-post" in a else None
            if group and self._form:
                self._form.groups.append(group)
            self._groups.append(group)
        elif tag in ("input", "select", "textarea") and a.get("name"):
            self._field(tag, a)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
        elif tag == "button" and self._form and a.get("formaction"):
            self._form.formactions.append(a["formaction"])

    def _field(self, tag: str, a: dict[str, str]) -> None:
        item = Field(tag, a.get("type", "text"), a["name"], a.get("value", ""), "checked" in a)
        item.required = "required" in a
        if tag == "select":
            self._select = item
        if self._form:
            self._form.fields.append(item)
        group = next((g for g in reversed(self._groups) if g), None)
        if group:
            group.fields.append(item)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "fieldset" and self._groups:
            self._groups.pop()
        elif tag == "select":
            self._select = None


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def find_form(page: PageParser, action_end: str) -> Form | None:
    return next((f for f in page.forms if f.action.split("?")[0].endswith(action_end)), None)


def fill(form: Form, known: dict[str, str]) -> dict[str, str]:
    """A form filled in like a person would: the given values by name, hidden fields as they
    are, the password everywhere a password goes, the first real choice of every list, and
    some text in any other field (so a field added by a refactor does not stop the run)."""
    data: dict[str, str] = {}
    for item in form.fields:
        if item.name in known:
            data[item.name] = known[item.name]
        elif item.type == "hidden":
            data[item.name] = item.value
        elif item.type == "password":
            data[item.name] = PASSWORD
        elif item.tag == "select":
            data[item.name] = next((o for o in item.options if o), "")
        elif item.type == "checkbox" and item.required:  # a box one must tick (the notice)
            data[item.name] = item.value or "on"
        elif item.type not in ("checkbox", "radio", "submit"):
            data[item.name] = item.value or "Bench"
    return data


# --- learners: registered and logged in over HTTP ---------------------------------------------


def learner_identity(index: int) -> dict[str, str]:
    """A valid PNS NIP (born 1985 + index // 999 days, appointed March 2015, male, serial)
    and an email, unique per index."""
    born = date(1985, 1, 1) + timedelta(days=index // 999)
    nip = f"{born:%Y%m%d}201503" + f"1{index % 999 + 1:03d}"
    return {
        "nip": nip,
        "name": f"Peserta Bench {index}",
        "email": f"peserta{index}@bench.go.id",
        "work_unit": "Bidang Bench",
        "position": "Analis Bench",
    }


def _expect(resp: httpx.Response, statuses: tuple[int, ...], what: str) -> None:
    if resp.status_code not in statuses:
        raise RuntimeError(f"{what}: HTTP {resp.status_code}: {resp.text[:400]}")


async def register(base: str, index: int) -> str:
    """Register through the real form (CSRF token and agency taken from the page); return
    the NIP."""
    who = learner_identity(index)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        page = await client.get("/register")
        form = find_form(parse_page(page.text), "/register")
        if form is None:
            raise RuntimeError("no registration form on /register")
        resp = await client.post(form.action, data=fill(form, who))
        _expect(resp, (302, 303), f"register learner {index}")
    return who["nip"]


async def log_in(base: str, nip: str) -> httpx.Cookies:
    """A fresh login's cookies (session and CSRF), whatever their names."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        page = await client.get("/login")
        form = find_form(parse_page(page.text), "/login")
        if form is None:
            raise RuntimeError("no login form on /login")
        known = {f.name: nip for f in form.fields if f.type in ("text", "email")}
        resp = await client.post(form.action, data=fill(form, known))
        _expect(resp, (302, 303), f"log in {nip}")
        return httpx.Cookies(client.cookies)


async def learners(base: str, first: int, count: int) -> list[httpx.Cookies]:
    """`count` learners registered and logged in, a few at a time (password hashing is the
    server's slowest work and is not what is measured)."""
    gate = asyncio.Semaphore(4)

    async def one(index: int) -> httpx.Cookies:
        async with gate:
            return await log_in(base, await register(base, index))

    return list(await asyncio.gather(*(one(first + i) for i in range(count))))


def cookie_header(cookies: httpx.Cookies) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in cookies.jar)


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, port: int) -> dict[str, str]:
    """Production settings; the caller's own BERAKHLAK_* variables are left out so they
    cannot change one run and not the other."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERAKHLAK_")}
    env.update(
        BERAKHLAK_ENVIRONMENT="production",
        BERAKHLAK_SECRET_KEY=SECRET,
        BERAKHLAK_DATABASE_URL=database_url,
        BERAKHLAK_HOST="127.0.0.1",
        BERAKHLAK_PORT=str(port),
        BERAKHLAK_BASE_URL=f"http://127.0.0.1:{port}",
        BERAKHLAK_WORKERS="1",
        # every learner registers from 127.0.0.1
        BERAKHLAK_REGISTRATIONS_PER_HOUR="1000000",
    )
    return env


def wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path, limit: float = 180) -> None:
    """Until the server answers /healthz (it listens only once migrations and the content
    sync are done)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/healthz", timeout=5).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {limit}s:\n{log.read_text()[-2000:]}")


@dataclass
class Server:
    base: str
    pgid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) spent so far by every process of the server's group,
        including a worker it may fork: what the code under test costs, whatever the load
        the machine is under. (PostgreSQL's own backends are not in the group.)"""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended while being read
            if int(fields[2]) == self.pgid:  # field 5, pgrp
                ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> Iterator[Server]:
    """A server process in its own process group (so that a worker it forks is counted and
    ends with it) until the block ends."""
    base = f"http://127.0.0.1:{env['BERAKHLAK_PORT']}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_ready(proc, base, log)
        yield Server(base, proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def serve(tree: Path, database_url: str, log: Path) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    return running(
        [sys.executable, "-c", SERVE, "serve"], tree, server_env(database_url, port), log
    )


BARE_APP = """
import os
from pathlib import Path
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse

BODY = Path(os.environ["BENCH_BARE_FILE"]).read_bytes()
app = FastAPI()
app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)


@app.get("/")
def page() -> HTMLResponse:
    return HTMLResponse(BODY)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
"""


def serve_bare(work: Path, body: bytes, log: Path) -> contextlib.AbstractContextManager[Server]:
    """A plain FastAPI app returning `body` (gzip as the app does), logged as `serve` logs:
    DESIGN §8's yardstick, independent of the code under test."""
    (work / "bare_app.py").write_text(BARE_APP)
    (work / "bare.html").write_bytes(body)
    env = server_env("", free_port()) | {"BENCH_BARE_FILE": str(work / "bare.html")}
    argv = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(work)]
    argv += ["--port", env["BERAKHLAK_PORT"], "--log-level", "info"]
    return running(argv, work, env, log)


# --- databases ---------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(kind: str, name: str, work: Path, admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one revision and repetition, removed afterwards."""
    if kind == "sqlite":
        path = work / f"{name}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for extra in ("", "-wal", "-shm"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
        return
    import psycopg  # only needed for PostgreSQL runs

    conninfo = admin_url.replace("postgresql+psycopg://", "postgresql://")

    def admin(sql: str) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type] - a name made here, not user input

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the lesson page ---------------------------------------------------------------------------


def parse_wrk(out: str) -> dict[str, float]:
    """Requests/s, p50 and p99 in ms, and the non-2xx/3xx and socket error counts of
    `wrk --latency`."""

    def ms(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "bad": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(errors),
    }


def wrk(server: Server, path: str, cookie: str, seconds: int, connections: int) -> dict:
    """wrk (two threads, as bench/lesson_page.py) on one URL, with the server's CPU time per
    request alongside the client's view."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["-H", f"Cookie: {cookie}", "-H", "Accept-Encoding: gzip", server.base + path]
    cpu = server.cpu_seconds()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    cpu = server.cpu_seconds() - cpu
    figures = parse_wrk(out)
    requests = re.search(r"(\d+) requests in", out)
    if figures["bad"] or not requests:  # errors, or no figures at all
        raise RuntimeError(f"wrk on {path}: {out}")
    return {**figures, "cpu_ms_per_request": cpu * 1000 / int(requests.group(1)), "wrk": out}


async def lesson_page(server: Server, args: argparse.Namespace) -> tuple[dict[str, object], bytes]:
    """wrk on the lesson page with one logged-in learner's cookies; also returns the page's
    bytes (for the plain FastAPI yardstick)."""
    (cookies,) = await learners(server.base, 0, 1)
    async with httpx.AsyncClient(base_url=server.base, cookies=cookies, timeout=60) as client:
        page = await client.get(LESSON, headers={"Accept-Encoding": "gzip"})
    # a lost login would measure the login redirect, not the page
    _expect(page, (200,), "lesson page")
    cookie = cookie_header(cookies)
    wrk(server, LESSON, cookie, WARM_UP_SECONDS, args.connections)
    result = wrk(server, LESSON, cookie, args.seconds, args.connections)
    result |= {"html_bytes": len(page.content), "gzip_bytes": page.num_bytes_downloaded}
    return result, page.content


def bare_page(work: Path, body: bytes, args: argparse.Namespace) -> dict[str, object]:
    with serve_bare(work, body, work / "bare.log") as server:
        wrk(server, "/", "x=1", WARM_UP_SECONDS, args.connections)
        return wrk(server, "/", "x=1", args.seconds, args.connections)


# --- the quiz ----------------------------------------------------------------------------------


def answer_key(tree: Path) -> dict[str, tuple[str, list[str]]]:
    """Question id -> (type, right form values) from the revision's own quiz files, in the
    documented author format (docs/content-format.md), not through the app's code: so every
    hand-in passes on both sides, as in bench/quiz.py, and does the same work."""
    key: dict[str, tuple[str, list[str]]] = {}
    for path in sorted((tree / "content").glob("**/*.quiz.md")):
        qid, kind, marks, said = "", "", [], ""
        for line in [*path.read_text(encoding="utf-8").splitlines(), "## end (end)"]:
            heading = re.match(r"## (\S+) \((\w+)", line)
            if heading:
                if qid:
                    key[qid] = (kind, _right_values(kind, marks, said))
                qid, kind, marks, said = heading.group(1), heading.group(2), [], ""
            elif mark := re.match(r"- \[([ xX]|\d+)\]", line):
                marks.append(mark.group(1).lower())
            elif line.startswith("Jawaban:"):
                said = line.partition(":")[2].strip()
    return key


def _right_values(kind: str, marks: list[str], said: str) -> list[str]:
    if kind in ("single", "multiple"):
        return [str(i) for i, m in enumerate(marks) if m == "x"]
    if kind == "scenario":
        weights = [int(m) if m.isdigit() else 0 for m in marks]
        return [str(weights.index(max(weights)))] if weights else []
    if kind == "truefalse":
        return ["true" if said.lower() in ("benar", "true", "betul", "ya") else "false"]
    if kind == "short":
        return [said.split("|")[0].strip()]
    return []  # matching and ordering: read from the field names; likert: any choice


def answer_fields(group: Group, key: dict[str, tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """The form values a learner who knows the answers gives to one question. Unknown
    questions get the first choice, so a changed bank still runs (the score then shows it)."""
    kind, right = key.get(group.url.rstrip("/").rsplit("/", 1)[-1], ("", []))
    chosen: list[tuple[str, str]] = []
    boxes = [f for f in group.fields if f.type in ("radio", "checkbox")]
    picks = [f for f in boxes if f.value in right] or boxes[:1]
    if boxes and (kind == "multiple" or boxes[0].type == "checkbox"):
        chosen += [(f.name, f.value) for f in picks]
    elif boxes:
        chosen.append((picks[0].name, picks[0].value))
    for item in group.fields:
        if item.tag == "select":
            # part k of a matching question pairs with choice k; item k of an ordering
            # question goes to place k + 1 (choices and items are listed in the file's order)
            part = item.name.rsplit("-", 1)[-1]
            want = str(int(part) + 1) if kind == "ordering" and part.isdigit() else part
            chosen.append((item.name, want if want in item.options else item.options[-1]))
        elif item.tag == "textarea" or item.type == "text":
            chosen.append((item.name, right[0] if right else "jawaban"))
    return chosen


@dataclass
class QuizTimings:
    start: list[float] = field(default_factory=list)
    answer: list[float] = field(default_factory=list)
    submit: list[float] = field(default_factory=list)
    journey: list[float] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)


def form_body(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Fields in page order, repeated names (checkboxes) kept: what httpx encodes as a form."""
    body: dict[str, list[str]] = {}
    for name, value in pairs:
        body.setdefault(name, []).append(value)
    return body


async def timed(into: list[float], request: Awaitable[httpx.Response]) -> httpx.Response:
    """Await a request, appending its latency in seconds to `into`."""
    begin = time.perf_counter()
    resp = await request
    into.append(time.perf_counter() - begin)
    return resp


async def start_attempt(client: httpx.AsyncClient, t: QuizTimings) -> tuple[str, str, float] | None:
    """Press "start" on the quiz page and open the attempt it leads to: (URL, page, when
    "start" was pressed), or None when no attempt is left."""
    start = find_form(parse_page((await client.get(QUIZ)).text), "/start")
    if start is None:
        return None
    begin = time.perf_counter()
    started = await client.post(start.action, data=fill(start, {}))
    _expect(started, (302, 303), "start")
    url = urljoin(str(started.url), started.headers["location"])
    page = await client.get(url)
    _expect(page, (200,), "attempt page")
    t.start.append(time.perf_counter() - begin)
    return url, page.text, begin


async def answer_and_hand_in(
    client: httpx.AsyncClient, url: str, html: str, key: dict, t: QuizTimings
) -> httpx.Response:
    """Every question answered as htmx saves it, then the form handed in as the browser
    sends it; returns the hand-in's response."""
    page = parse_page(html)
    form = next((f for f in page.forms if f.groups), None)
    if form is None:
        raise RuntimeError(f"no question with hx-post on the attempt page {url}")
    # htmx posts the whole enclosing form on every change, with the body's hx-headers
    state = [(f.name, f.value) for f in form.fields if f.type == "hidden"]
    headers = {"HX-Request": "true", "HX-Current-URL": url, **page.hx_headers}
    for group in form.groups:
        state += answer_fields(group, key)
        save = client.post(group.url, data=form_body(state), headers=headers)
        _expect(await timed(t.answer, save), (200,), "answer")
    # the browser submits the whole form, so the hand-in saves every answer once more
    action = next((a for a in form.formactions if a.endswith("/submit")), form.formactions[-1])
    done = await timed(t.submit, client.post(action, data=form_body(state)))
    _expect(done, (302, 303), "hand-in")
    return done


async def journey(client: httpx.AsyncClient, key: dict, t: QuizTimings) -> bool:
    """One attempt from "start" to the result page; False when no attempt is left."""
    opened = await start_attempt(client, t)
    if opened is None:
        return False
    url, html, begin = opened
    done = await answer_and_hand_in(client, url, html, key, t)
    result = await client.get(urljoin(url, done.headers["location"]))
    _expect(result, (200,), "result page")
    t.journey.append(time.perf_counter() - begin)
    # the score (the page says e.g. "Nilai 100.0%"): right answers on both sides, or not
    score = re.search(r'role="status">[^<%]*?(\d+(?:[.,]\d+)?)\s*%', result.text)
    t.scores.append(float(score.group(1).replace(",", ".")) if score else None)
    return True


async def quiz(
    server: Server, key: dict[str, tuple[str, list[str]]], args: argparse.Namespace
) -> dict[str, object]:
    """`--learners` learners at once without think time, each taking the quiz `--journeys`
    times in a row; each slot then hands over to a new learner, `--rounds` learners per slot
    (the quiz allows three attempts, and more journeys make steadier figures). Latency as the
    client sees it, and the server's CPU time per journey."""
    begin = time.perf_counter()
    logins = await learners(server.base, 1000, args.learners * args.rounds)
    setup = time.perf_counter() - begin
    t = QuizTimings()

    async def slot(turns: list[httpx.Cookies]) -> int:
        count = 0
        for cookies in turns:
            # a fresh client per learner: a connection left idle while the others registered
            # may be closed by the server's keep-alive timeout just as it is reused
            async with httpx.AsyncClient(
                base_url=server.base, cookies=cookies, timeout=60
            ) as client:
                taken = 0
                while taken < args.journeys and await journey(client, key, t):
                    taken += 1
            count += taken
        return count

    cpu, begin = server.cpu_seconds(), time.perf_counter()
    slots = [logins[i :: args.learners] for i in range(args.learners)]
    journeys = sum(await asyncio.gather(*(slot(turns) for turns in slots)))
    wall, cpu = time.perf_counter() - begin, server.cpu_seconds() - cpu
    ms = {k: [v * 1000 for v in getattr(t, k)] for k in ("start", "answer", "submit", "journey")}
    scored = [s for s in t.scores if s is not None]
    return {
        "journeys": journeys,
        "seconds": wall,
        "setup_seconds": setup,
        "journeys_per_s": journeys / wall,
        "cpu_ms_per_journey": cpu * 1000 / max(journeys, 1),
        **{f"{k}_p50": pct(v, 0.50) for k, v in ms.items()},
        **{f"{k}_p95": pct(v, 0.95) for k, v in ms.items()},
        "mean_score": statistics.fmean(scored) if scored else None,
        "unscored": len(t.scores) - len(scored),
        "latencies_ms": ms,
    }


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --- one revision, one repetition --------------------------------------------------------------


def measure(
    side: str, tree: Path, db: str, rep: int, work: Path, key: dict, args: argparse.Namespace
) -> dict[str, object]:
    """Lesson page, then quiz, each with the revision's server freshly started on the
    repetition's scratch database."""
    run: dict[str, object] = {"side": side, "database": db, "rep": rep, "load": os.getloadavg()}
    began = time.perf_counter()
    log = work / f"{side}-{db}-{rep}.log"
    name = f"bench_compare_{os.getpid()}_{side}_{rep}"  # two runs at once do not collide
    with scratch_database(db, name, work, args.postgres_url) as url:
        with serve(tree, url, log) as server:
            run["lesson"], body = asyncio.run(lesson_page(server, args))
        if args.bare:
            run["bare"] = bare_page(work, body, args)
        with serve(tree, url, log) as server:
            run["quiz"] = asyncio.run(quiz(server, key, args))
    run["seconds"] = time.perf_counter() - began
    return run


def measure_twice(
    side: str, tree: Path, db: str, rep: int, work: Path, key: dict, args: argparse.Namespace
) -> dict[str, object]:
    """`measure`, once more if it fails: a long run should not be lost to one refused
    connection; the failure is kept in the run's record."""
    try:
        return measure(side, tree, db, rep, work, key, args)
    except (RuntimeError, httpx.HTTPError, subprocess.CalledProcessError) as exc:
        print(f"{db} rep {rep + 1} {side}: failed ({exc!r}); once more", file=sys.stderr)
        return {**measure(side, tree, db, rep, work, key, args), "first_failure": repr(exc)}


def describe(run: dict) -> str:
    lesson, q = run["lesson"], run["quiz"]
    text = (
        f"{run['database']} rep {run['rep'] + 1} {run['side']}: lesson {lesson['rps']:.0f} req/s "
        f"p99 {lesson['p99']:.1f} ms; quiz {q['journeys_per_s']:.1f} journeys/s, answer p95 "
        f"{q['answer_p95']:.1f} ms, hand-in p95 {q['submit_p95']:.1f} ms, score "
        f"{q['mean_score']}; server CPU {lesson['cpu_ms_per_request']:.2f} ms/request, "
        f"{q['cpu_ms_per_journey']:.0f} ms/journey; {run['seconds']:.0f} s"
    )
    if "bare" in run:
        text += f"; plain FastAPI {run['bare']['rps']:.0f} req/s"
    return text


# --- worktrees ---------------------------------------------------------------------------------


def git(*argv: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *argv], capture_output=True, text=True, check=True
    ).stdout.strip()


def resolve(rev: str) -> str:
    try:
        return git("rev-parse", "--verify", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"unknown revision {rev!r}") from None


def check_revision(tree: Path) -> None:
    """The revision must have the entry point the harness starts, and its packages must
    load from its own worktree (not from an editable install of another checkout)."""
    cli = tree / "app" / "cli.py"
    if not cli.exists() or not re.search(r"^def main\(", cli.read_text(), re.M):
        raise SystemExit(f"{tree}: no app/cli.py with main(); cannot start `berakhlak serve`")
    where = subprocess.run(
        [sys.executable, "-c", "import app; print(app.__file__)"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"{tree}: `import app` loads {where}, not the worktree's code")


@contextlib.contextmanager
def worktrees(revs: dict[str, str], work: Path) -> Iterator[dict[str, Path]]:
    trees = {side: work / side for side in revs}
    try:
        for side, sha in revs.items():
            git("worktree", "add", "--detach", str(trees[side]), sha)
            check_revision(trees[side])
        yield trees
    finally:
        for tree in trees.values():
            with contextlib.suppress(subprocess.CalledProcessError):
                git("worktree", "remove", "--force", str(tree))
        git("worktree", "prune")


# --- summary -----------------------------------------------------------------------------------


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    q1, _, q3 = (
        statistics.quantiles(ordered, n=4, method="inclusive")
        if len(ordered) > 1
        else (ordered[0],) * 3
    )
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "q1": q1,
        "q3": q3,
    }


def figure(run: dict, key: str) -> float:
    if key == "bare_ratio":
        return run["lesson"]["rps"] / run["bare"]["rps"]
    if key == "bare_rps":
        return run["bare"]["rps"]
    return run["lesson" if key in ("rps", "p50", "p99", "cpu_ms_per_request") else "quiz"][key]


Measure = tuple[str, str, bool, bool]


def summarise(runs: list[dict], measures: list[Measure]) -> list[dict[str, object]]:
    """One row per database and measure."""
    databases = dict.fromkeys(r["database"] for r in runs)
    return [
        summary_row([r for r in runs if r["database"] == db], m)
        for db in databases
        for m in measures
    ]


def summary_row(runs: list[dict], measure: Measure) -> dict[str, object]:
    """Each side's median and spread, and new against old as a factor where > 1 always
    means new is better (new/old for rates, old/new for latencies and CPU costs); also that
    factor for each repetition's pair, which the interleaving makes a fair comparison."""
    key, label, higher, judged = measure
    by_side = {s: {r["rep"]: figure(r, key) for r in runs if r["side"] == s} for s in SIDES}
    old, new = (spread(list(by_side[s].values())) for s in SIDES)

    def better(o: float, n: float) -> float:
        return n / o if higher else o / n

    pairs = [better(by_side["old"][i], by_side["new"][i]) for i in by_side["old"]]
    factor = better(old["median"], new["median"])
    return {
        "database": runs[0]["database"],
        "measure": key,
        "label": label,
        "higher_is_better": higher,
        "reps": len(pairs),
        "old": old,
        "new": new,
        "new_vs_old": factor,
        "pairs": pairs,
        "bar": (factor >= BAR) if judged else None,
    }


def table(rows: list[dict[str, object]]) -> str:
    def fmt(v: float) -> str:
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"

    def side(s: dict[str, float]) -> str:
        iqr = f"IQR {fmt(s['q1'])}–{fmt(s['q3'])}"
        return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])}; {iqr})"

    verdict = {None: "–", True: "met", False: "**MISSED**"}
    lines = [
        "| database | measure | old: median (min–max; IQR) | new: median (min–max; IQR) "
        f"| new vs old (> 1: new better) | per-pair range | ≥ {BAR} (rates; CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        pairs = row["pairs"]
        lines.append(
            f"| {row['database']} | {row['label']} | {side(row['old'])} | {side(row['new'])} "
            f"| **{row['new_vs_old']:.3f}** | {min(pairs):.2f}–{max(pairs):.2f} "
            f"| {verdict[row['bar']]} |"
        )
    return "\n".join(lines)


def footer(report: dict, started: datetime) -> str:
    """How long the run took and how loaded the machine was: other work on the two cores
    moves the rates far more than the code under test usually does."""
    loads = [r["load"][0] for r in report["runs"]] or [float("nan")]
    minutes = (datetime.now(UTC) - started).total_seconds() / 60
    return (
        f"\n{len(report['runs'])} measurements in {minutes:.1f} min; 1-minute load average at "
        f"their start {min(loads):.1f}–{max(loads):.1f}; raw figures: "
        f"{Path(report['output']).relative_to(ROOT)}"
    )


# --- main --------------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="revision measured as before (e.g. 8c1af91)")
    parser.add_argument("new", help="revision measured as after")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (pairs)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=int, default=8, help="per wrk run (after a 2 s warm-up)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--learners", type=int, default=32, help="quiz learners at once")
    parser.add_argument(
        "--journeys", type=int, default=3, help="quiz attempts per learner (the quiz allows 3)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="learners each quiz slot plays one after another"
    )
    parser.add_argument(
        "--bare", action="store_true", help="also wrk a plain FastAPI app returning the same bytes"
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server where scratch databases may be made",
    )
    return parser.parse_args()


def warn_if_loaded() -> None:
    load = os.getloadavg()[0]
    if load > 1.5:
        print(
            f"warning: load average {load:.1f} before the start: other work on the two cores "
            "moves the rates by more than the 5 % the bar allows (see the A/A runs in "
            "docs/benchmarks.md); the CPU costs per request and journey move less",
            file=sys.stderr,
        )


def run_all(report: dict, trees: dict[str, Path], work: Path, args: argparse.Namespace) -> None:
    """Every repetition of both revisions, database by database; the report is written
    after each measurement, so an interrupted run keeps what it measured."""
    keys = {s: answer_key(trees[s]) for s in SIDES}
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for db in databases:
        for rep in range(args.reps):
            # ABAB..., reversed every other repetition so neither always goes first
            for side in SIDES if rep % 2 == 0 else SIDES[::-1]:
                run = measure_twice(side, trees[side], db, rep, work, keys[side], args)
                report["runs"].append(run)
                Path(report["output"]).write_text(json.dumps(report, indent=1))
                print(describe(run), file=sys.stderr, flush=True)


def header(revs: dict[str, str], args: argparse.Namespace) -> str:
    order = ", ".join("old-new" if i % 2 == 0 else "new-old" for i in range(args.reps))
    return (
        f"old {revs['old'][:7]}, new {revs['new'][:7]}; {args.reps} repetitions, order {order}; "
        f"wrk {args.connections} connections {args.seconds} s; quiz {args.learners} learners "
        f"at once, {args.rounds} in turn per slot, {args.journeys} attempts each\n"
    )


def main() -> None:
    args = arguments()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    revs = {s: resolve(r) for s, r in zip(SIDES, (args.old, args.new), strict=True)}
    warn_if_loaded()
    started = datetime.now(UTC)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "started": started.isoformat(),
        "revisions": revs,
        "arguments": vars(args),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "output": str(RESULTS / f"compare-{started:%Y%m%dT%H%M%SZ}.json"),
        "runs": [],
    }
    work = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    try:
        with worktrees(revs, work) as trees:
            run_all(report, trees, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    measures = LESSON_MEASURES + (BARE_MEASURES if args.bare else []) + QUIZ_MEASURES
    report["summary"] = rows = summarise(report["runs"], measures)
    report["finished"] = datetime.now(UTC).isoformat()
    Path(report["output"]).write_text(json.dumps(report, indent=1))
    print(header(revs, args))
    print(table(rows))
    print(footer(report, started))


if __name__ == "__main__":
    main()
