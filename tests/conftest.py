"""Every test gets its own real database: a copy of a migrated, seeded template.

BERAKHLAK_TEST_DATABASE_URL picks the engine: `sqlite` (default) or a PostgreSQL URL such as
postgresql+psycopg://postgres@127.0.0.1:5432/test. PostgreSQL being unreachable is a failure,
never a skip.

When BERAKHLAK_TEST_DIRECT_DATABASE_URL is set too, BERAKHLAK_TEST_DATABASE_URL is PgBouncer in
transaction mode (`make test-postgres` starts it: tests/pgbouncer/start.sh): every test's
database is reached through it, with the app's `db_pooler=transaction`, while creating the
databases and migrating the template goes direct.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app import privacy, security
from app.clock import utcnow
from app.main import create_app, make_worker, prepare
from app.settings import ROOT, Settings
from modules.agencies import service as agencies_service

# Argon2id at its lowest cost in tests: the same algorithm and code paths, without the 0.1 s
# each production-cost hash and check would take thousands of times over.
# tests/app/test_security.py checks the production parameters.
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
security._DUMMY_HASH = security._hasher.hash("dummy")

DB_CHOICE = os.environ.get("BERAKHLAK_TEST_DATABASE_URL", "sqlite") or "sqlite"
DIRECT_URL = os.environ.get("BERAKHLAK_TEST_DIRECT_DATABASE_URL") or DB_CHOICE
POOLED = DIRECT_URL != DB_CHOICE
if POOLED:  # every Settings() of the run, in this process and the commands it starts
    os.environ["BERAKHLAK_DB_POOLER"] = "transaction"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
# every certificate the tests issue is logged here, never into ./var (a test of the log sets its own)
os.environ.setdefault(
    "BERAKHLAK_ISSUANCE_LOG",
    str(Path(tempfile.mkdtemp(prefix="berakhlak-issuance-")) / "issuance-log.jsonl"),
)
_counter = itertools.count()


def _prepare(url: str) -> None:
    """What `berakhlak serve` does first, once, into the template every test copies; the jobs
    that start-up enqueued (a course's first publication) are run, as a worker would."""
    settings = make_settings(url)
    prepare(settings)
    application = create_app(settings)
    run_jobs(application)
    application.state.engine.dispose()


class _SqliteFactory:
    def __init__(self, tmp: Path) -> None:
        self.template = tmp / "template.db"
        _prepare(f"sqlite:///{self.template}")

    def new(self, tmp_path: Path) -> str:
        target = tmp_path / "test.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        pass


class _PostgresFactory:
    """Each test gets `CREATE DATABASE ... TEMPLATE` of a migrated template: real isolation.
    Databases are created and the template migrated over `direct`; tests reach theirs over
    `url` (the same, or PgBouncer)."""

    def __init__(self, url: str, direct: str) -> None:
        self.pooled = make_url(url)
        self.base = make_url(direct)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001
            pytest.exit(f"PostgreSQL at {url} is unreachable: {exc}", returncode=3)
        self.prefix = f"{self.base.database}_bk{os.getpid()}"
        self.template = f"{self.prefix}_tpl"
        self._drop(self.template)
        self._run(f'CREATE DATABASE "{self.template}"')
        _prepare(self._url(self.template))

    def _url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def _run(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def _drop(self, name: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def new(self, _tmp_path: Path) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        self._run(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.pooled.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        self._drop(str(make_url(url).database))

    def close(self) -> None:
        self._drop(self.template)
        self.admin.dispose()


def pytest_collection_modifyitems(config, items) -> None:
    """Tests of a PostgreSQL behaviour run in the PostgreSQL run only (deselected, not
    skipped, in the SQLite run)."""
    if DB_CHOICE != "sqlite":
        return
    kept = [item for item in items if item.get_closest_marker("postgresql") is None]
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])
    items[:] = kept


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if DB_CHOICE == "sqlite":
        yield _SqliteFactory(tmp_path_factory.mktemp("template"))
    else:
        factory = _PostgresFactory(DB_CHOICE, DIRECT_URL)
        yield factory
        factory.close()


@pytest.fixture
def db_url(db_factory, tmp_path: Path) -> Iterator[str]:
    url = db_factory.new(tmp_path)
    yield url
    db_factory.drop(url)


def make_settings(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "environment": "test",
        "secret_key": SECRET,
        "content_dir": ROOT / "content",
        # tests run the worker themselves (run_jobs), when and as often as they mean to
        "worker_in_process": "off",
        # addresses are trusted as typed, except in the tests of verification (test_verify.py)
        "email_verification": "off",
    }
    values.update(overrides)
    return Settings(**values)


def cli_environment(monkeypatch, tmp_path: Path, db_url: str, **settings: str) -> None:
    """The environment a `berakhlak` command runs with in a test: the test's database and
    secret, no SMTP server, the metrics folder in the test's folder, and the settings given
    (`mail_dir=...` sets BERAKHLAK_MAIL_DIR). `serve` and `worker` set PROMETHEUS_MULTIPROC_DIR
    in the process: it is undone after the test."""
    values = {
        "database_url": db_url,
        "secret_key": SECRET,
        "metrics_dir": str(tmp_path / "metrics"),
        **settings,
    }
    for name, value in values.items():
        monkeypatch.setenv(f"BERAKHLAK_{name.upper()}", value)
    monkeypatch.delenv("BERAKHLAK_SMTP_HOST", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def app(settings: Settings):
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def session(app) -> Iterator[Session]:
    with Session(app.state.engine) as db_session:
        yield db_session


# ---- helpers shared by tests -------------------------------------------------------------


def run_jobs(app, max_jobs: int = 10_000) -> int:
    """Run every background job that is ready, as `berakhlak worker --once` would; returns how
    many ran."""
    return make_worker(app.state).run_until_idle(max_jobs)


CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]{128})"')
PASSWORD = "kata-sandi-yang-panjang-1"


def csrf_from(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page hands this client."""
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def nip(
    birth: str = "19900101", appointed: str = "201503", sex: str = "1", serial: str = "001"
) -> str:
    """A PNS NIP from its parts (PPPK: appointed='202321')."""
    return f"{birth}{appointed}{sex}{serial}"


def agency_id(client: TestClient, code: str = "LB-BKN") -> int:
    with Session(client.app.state.engine) as db_session:  # type: ignore[attr-defined]
        agency = agencies_service.get_by_code(session=db_session, code=code)
        assert agency and agency.id
        return agency.id


def registration(client: TestClient, **overrides: str) -> dict[str, str]:
    form = {
        "nip": nip(),
        "name": "Siti Rahmawati",
        "email": "siti@bkn.go.id",
        "agency": "Badan Kepegawaian Negara",  # LB-BKN, as typed or picked from the list
        "work_unit": "Direktorat Pengembangan",
        "position": "Analis SDM Aparatur Ahli Pertama",
        "grade": "III/a",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "privacy": "yes",  # the privacy notice's box, ticked
    }
    form.update(overrides)
    return form


def register(client: TestClient, **overrides: str):
    form = registration(client, **overrides)
    form["csrf_token"] = csrf_from(client, "/register")
    return client.post("/register", data=form, follow_redirects=False)


def login(client: TestClient, identifier: str, password: str = PASSWORD):
    token = csrf_from(client, "/login")
    return client.post(
        "/login",
        data={"identifier": identifier, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def all_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route, including those of included routers."""
    found: list[tuple[str, str]] = []

    def walk(routes) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)
            elif getattr(route, "methods", None):
                found.extend((m, route.path) for m in route.methods)

    walk(app.routes)
    return sorted(found)


def make_user(
    session, nip_number: str = "199001012015031001", email: str = "siti@bkn.go.id", **fields: object
):
    """A learner row written directly (no registration form, no password to check)."""
    from modules.accounts.models import User

    values: dict[str, object] = {
        "nip": nip_number,
        "employment_type": "PNS",
        "name": "Siti",
        "email": email,
        "password_hash": "x",
        "agency_id": 1,
        "work_unit": "Unit",
        "position": "Analis",
        "grade": "III/a",
        "email_verified_at": utcnow(),  # a person whose address is confirmed
        # who has read the current privacy notice (with the default controller settings)
        "privacy_version": privacy.version(Settings()),
    }
    values.update(fields)
    user = User(**values)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user
