"""Instances starting together on a fresh database take turns: ten times two processes, on
SQLite and PostgreSQL, and neither crashes; `serve --no-migrate` refuses a schema that is not
current."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from app.cli import cli
from app.observability import MULTIPROCESS_ENV
from app.settings import ROOT
from tests.conftest import DB_CHOICE, DIRECT_URL, SECRET

START = "from app.main import prepare; from app.settings import Settings; prepare(Settings())"


def _fresh_database(tmp_path, round_: int) -> str:
    if DB_CHOICE == "sqlite":
        return f"sqlite:///{tmp_path / f'fresh{round_}.db'}"
    base = make_url(DIRECT_URL)
    name = f"{base.database}_start{os.getpid()}_{round_}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    # the instances reach it as the app would: through PgBouncer when the suite runs behind it
    return make_url(DB_CHOICE).set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    if url.startswith("sqlite"):
        return
    name = make_url(url).database
    admin = create_engine(
        make_url(DIRECT_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_two_instances_starting_together_on_a_fresh_database_ten_times(tmp_path) -> None:
    for round_ in range(10):
        url = _fresh_database(tmp_path, round_)
        env = {**os.environ, "BERAKHLAK_DATABASE_URL": url, "BERAKHLAK_SECRET_KEY": SECRET}
        starts = [
            subprocess.Popen(  # noqa: S603 - our own code
                [sys.executable, "-c", START], cwd=ROOT, env=env, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        for process in starts:
            _out, err = process.communicate(timeout=120)
            assert process.returncode == 0, (round_, err.decode()[-2000:])
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM agency")).scalar() >= 600
            assert conn.execute(text("SELECT count(*) FROM signing_key")).scalar() >= 1
            assert conn.execute(text("SELECT count(*) FROM course")).scalar() == 1
        engine.dispose()
        _drop(url)


def test_serve_without_migrating_refuses_a_schema_that_is_not_current(tmp_path, monkeypatch):
    url = _fresh_database(tmp_path, 99)
    monkeypatch.setenv("BERAKHLAK_DATABASE_URL", url)
    monkeypatch.setenv("BERAKHLAK_SECRET_KEY", SECRET)
    monkeypatch.setenv("BERAKHLAK_METRICS_DIR", str(tmp_path / "metrics"))  # serve empties it
    monkeypatch.delenv(MULTIPROCESS_ENV, raising=False)  # and sets this: undone after the test
    refused = CliRunner().invoke(cli, ["serve", "--no-migrate"])
    assert refused.exit_code == 2 and "berakhlak db upgrade" in refused.output
    _drop(url)
