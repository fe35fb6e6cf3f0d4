"""Health that tells the truth: liveness without the database, readiness degraded for a
broken course folder, jobs no worker takes, an export folder that cannot be written; an empty
content folder is refused, never published as "nothing"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from app import clock, jobs
from app.cli import cli
from app.clock import ManualClock
from app.main import create_app
from modules.courses import service as courses_service
from tests.conftest import make_settings
from tests.modules.courses.test_content_check import write_course


def _ready(app) -> dict:
    return TestClient(app, base_url="http://testserver").get("/readyz").json()


def test_liveness_and_a_healthy_readiness(client) -> None:
    assert client.get("/livez").json() == {"status": "alive"}
    body = client.get("/readyz").json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["exports"] == "ok"
    assert body["issuance_log"] == "ok"
    assert body["jobs"]["stalled"] is False
    assert client.get("/healthz").json() == body  # the same document


def test_a_broken_course_folder_makes_readiness_degraded(db_url, tmp_path: Path) -> None:
    root = write_course(tmp_path / "content", {})
    app = create_app(make_settings(db_url, content_dir=root))
    courses_service.sync_content(engine=app.state.engine, root=root)
    (root / "demo/01-satu/01-a.md").write_text("---\nid: satu-a\ntitle: [unclosed\n---\nIsi.\n")
    courses_service.sync_content(engine=app.state.engine, root=root)
    response = TestClient(app, base_url="http://testserver").get("/readyz")
    demo = next(c for c in response.json()["content"] if c["folder"] == "demo")
    # it still serves the last good version: ready (200), but an operator is needed
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert demo["status"] == "broken" and demo["serving"]
    app.state.engine.dispose()


def test_jobs_no_worker_takes_make_readiness_degraded(db_url) -> None:
    app = create_app(make_settings(db_url))
    with clock.use(ManualClock()) as moment:
        with Session(app.state.engine) as session:
            jobs.enqueue(session, "report.clean_up")
            session.commit()
        assert _ready(app)["jobs"]["stalled"] is False
        moment.advance(timedelta(minutes=6))
        app2 = create_app(make_settings(db_url))  # a fresh cache of the readiness answer
        body = _ready(app2)
    assert body["status"] == "degraded" and body["jobs"]["stalled"] is True
    assert body["jobs"]["waiting"] >= 1 and body["jobs"]["oldest_wait_seconds"] >= 360
    for made in (app, app2):
        made.state.engine.dispose()


def test_an_export_folder_that_cannot_be_written_makes_readiness_degraded(db_url) -> None:
    app = create_app(make_settings(db_url, export_dir=Path("/dev/full/exports")))
    body = _ready(app)
    assert body["status"] == "degraded" and body["exports"] == "not writable"
    app.state.engine.dispose()


def test_an_issuance_log_that_cannot_be_written_makes_readiness_degraded(db_url) -> None:
    app = create_app(make_settings(db_url, issuance_log=Path("/dev/full/issuance-log.jsonl")))
    body = _ready(app)
    assert body["status"] == "degraded" and body["issuance_log"] == "not writable"
    app.state.engine.dispose()


def test_an_empty_content_folder_is_refused(tmp_path: Path, db_url, monkeypatch) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    monkeypatch.setenv("BERAKHLAK_DATABASE_URL", db_url)
    runner = CliRunner()
    checked = runner.invoke(cli, ["--lang", "en", "content", "check", str(empty)])
    assert checked.exit_code == 1 and "no course folder here" in checked.output
    synced = runner.invoke(cli, ["--lang", "en", "content", "sync", str(empty)])
    assert synced.exit_code == 1 and "no course folder here" in synced.output
