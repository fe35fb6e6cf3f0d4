"""Backup and restore on the suite's database (SQLite, or PostgreSQL through pg_dump and
pg_restore): restoring an older backup and carrying on never issues a certificate number twice,
and the certificates issued and revoked since the backup come back from the issuance log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app import backup
from app.cli import cli
from modules.certificates import service
from modules.certificates.models import Certificate
from modules.progress import service as progress_service
from modules.progress.models import CourseCompletion
from tests.conftest import DB_CHOICE, DIRECT_URL, SECRET, cli_environment, make_user, run_jobs
from tests.modules.certificates.helpers import make_app


def _nip(index: int) -> str:
    return f"19900101201503{1 + index % 2}{index:03d}"


def _learner(app, index: int) -> int:
    with Session(app.state.engine) as session:
        user = make_user(session, nip_number=_nip(index), email=f"p{index}@bkn.go.id")
        return int(user.id)


def _complete(app, user_id: int) -> Certificate:
    """A completion as the workflow records it, and the worker's issue of its certificate."""
    course = app.state.catalogue.get("demo")
    with Session(app.state.engine) as session:
        completion = progress_service.record_completion(
            session=session,
            user_id=user_id,
            course_id="demo",
            version_id=course.version_id,
            jp=course.content.jp,
        )
        service.owe(
            session=session,
            owed=service.Owed(
                user_id=user_id,
                course_id="demo",
                completed_at=completion.completed_at,
                jp=completion.jp,
                content_version_id=completion.content_version_id,
            ),
        )
        session.commit()
    run_jobs(app)
    with Session(app.state.engine, expire_on_commit=False) as session:
        found = service.current(session=session, user_id=user_id, course_id="demo")
        assert found is not None
        return found


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch):
    """The command line on the test's database, its issuance log in the test's folder."""
    admin = db_url
    if DB_CHOICE != "sqlite":  # pg_dump and pg_restore go direct, never through PgBouncer
        admin = (
            make_url(DIRECT_URL)
            .set(database=make_url(db_url).database)
            .render_as_string(hide_password=False)
        )
    log = tmp_path / "issuance-log.jsonl"
    cli_environment(monkeypatch, tmp_path, db_url, database_admin_url=admin, issuance_log=str(log))
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(cli, ["--lang", "en", *args])
        return result

    run.log = log  # type: ignore[attr-defined]
    return run


def _numbers(app) -> dict[int, str]:
    with Session(app.state.engine) as session:
        return {row.id: row.number for row in session.exec(select(Certificate)).all()}


def test_a_restore_from_an_older_backup_never_repeats_a_number(db_url, tmp_path, cli_env):
    log = cli_env.log
    app = make_app(db_url, tmp_path, issuance_log=log)
    year = None
    first, second = _learner(app, 1), _learner(app, 2)
    third, fourth = _learner(app, 3), _learner(app, 4)
    before = [_complete(app, first), _complete(app, second)]
    year = before[0].year
    assert [c.number for c in before] == [f"BA/{year}/000001", f"BA/{year}/000002"]

    made = cli_env("backup", str(tmp_path / "b1"))
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "b1" / backup.MANIFEST).read_text())
    assert manifest["certificates"] == 2 and manifest["generation"] == 0
    assert SECRET not in (tmp_path / "b1" / backup.MANIFEST).read_text()

    # after the backup: two more certificates, one for a learner the backup does not know,
    # and a revocation
    after = [_complete(app, third), _complete(app, fourth)]
    late = _complete(app, _learner(app, 5))
    with Session(app.state.engine) as session:
        service.revoke(
            session=session,
            certificate=session.get(Certificate, before[0].id),
            reason="data keliru",
            actor_id=None,
            address="test",
            log=log,
        )
    handed_out = _numbers(app)
    app.state.engine.dispose()
    _quiet(db_url)

    restored = cli_env("restore", str(tmp_path / "b1"), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "restore generation 1" in restored.output
    assert "2 certificate(s) put back" in restored.output and "1 revocation(s)" in restored.output
    assert late.number in restored.output  # its holder registered after the backup

    app = make_app(db_url, tmp_path / "again", issuance_log=log)
    with Session(app.state.engine) as session:
        back = {c.id: c for c in session.exec(select(Certificate)).all()}
        # put back as they were: id (the status-list index), number and code
        for certificate in after:
            assert back[certificate.id].number == certificate.number
            assert back[certificate.id].code == certificate.code
            assert session.get(CourseCompletion, (certificate.user_id, "demo")) is not None
        assert back[before[0].id].revoked_at is not None  # the revocation too
        assert late.id not in back

    # new completions after the restore: new numbers, new ids
    fresh = [_complete(app, _learner(app, index)) for index in (6, 7)]
    assert [c.number for c in fresh] == [f"BA/{year}/000006-R1", f"BA/{year}/000007-R1"]
    assert min(c.id for c in fresh) > max(handed_out)
    everything = list(handed_out.values()) + [c.number for c in fresh]
    assert len(everything) == len(set(everything))

    # the holder missing from the backup registers again: their certificate comes back
    _learner(app, 5)
    again = cli_env("learning", "reinstate")
    assert again.exit_code == 0 and "1 certificate(s) put back" in again.output, again.output
    assert _numbers(app)[late.id] == late.number
    app.state.engine.dispose()
    _quiet(db_url)

    # the same backup restored a second time: generation 2, still nothing repeated
    twice = cli_env("restore", str(tmp_path / "b1"), "--yes")
    assert twice.exit_code == 0 and "restore generation 2" in twice.output, twice.output
    # the holders of generation 1 registered after the backup: listed, to be put back later
    assert all(c.number in twice.output for c in fresh)
    app = make_app(db_url, tmp_path / "third", issuance_log=log)
    newest = _complete(app, _learner(app, 8))
    assert newest.number == f"BA/{year}/000008-R2"
    with Session(app.state.engine) as session:
        numbers = session.exec(select(Certificate.number)).all()
        assert len(numbers) == len(set(numbers))
        assert set(handed_out.values()) - {late.number} <= set(numbers)
    app.state.engine.dispose()


def test_a_restore_under_another_secret_is_refused_unless_asked(
    db_url, tmp_path, cli_env, monkeypatch
):
    app = make_app(db_url, tmp_path, issuance_log=cli_env.log)
    _complete(app, _learner(app, 1))
    app.state.engine.dispose()
    _quiet(db_url)
    assert cli_env("backup", str(tmp_path / "b")).exit_code == 0
    refused = cli_env("backup", str(tmp_path / "b"))
    assert refused.exit_code == 2 and "not empty" in refused.output

    monkeypatch.setenv("BERAKHLAK_SECRET_KEY", "another-secret-that-is-long-enough-98765")
    wrong = cli_env("restore", str(tmp_path / "b"), "--yes")
    assert wrong.exit_code == 2 and "another BERAKHLAK_SECRET_KEY" in wrong.output
    _quiet(db_url)
    rotated = cli_env("restore", str(tmp_path / "b"), "--yes", "--new-secret")
    assert rotated.exit_code == 0, rotated.output
    app = make_app(
        db_url,
        tmp_path / "after",
        issuance_log=cli_env.log,
        secret_key="another-secret-that-is-long-enough-98765",
    )
    with Session(app.state.engine) as session:
        from modules.certificates import keys

        assert keys.usable(session=session, secret="another-secret-that-is-long-enough-98765")
        assert len(keys.published(session=session)) == 2  # the old key stays published
    app.state.engine.dispose()


def test_unfinished_and_foreign_backups_are_refused(tmp_path, cli_env) -> None:
    (tmp_path / "half").mkdir()
    half = cli_env("restore", str(tmp_path / "half"), "--yes")
    assert half.exit_code == 2 and "not a finished backup" in half.output


def test_db_upgrade_can_back_up_first(db_url, tmp_path, cli_env) -> None:
    done = cli_env("db", "upgrade", "--backup", str(tmp_path / "before-upgrade"))
    assert done.exit_code == 0, done.output
    assert (tmp_path / "before-upgrade" / backup.MANIFEST).is_file()
    dump = backup.SQLITE_FILE if DB_CHOICE == "sqlite" else backup.POSTGRES_FILE
    assert (tmp_path / "before-upgrade" / dump).stat().st_size > 0


def test_the_issuance_log_keeps_only_what_committed(db_url, tmp_path) -> None:
    log = tmp_path / "log.jsonl"
    app = make_app(db_url, tmp_path, issuance_log=log)
    certificate = _complete(app, _learner(app, 1))
    with Session(app.state.engine) as session:
        user_id = _learner(app, 2)
        course = app.state.catalogue.get("demo")
        service.issue(
            session=session,
            completion=service.Owed(
                user_id=user_id,
                course_id="demo",
                completed_at=certificate.completed_at,
                jp=1,
                content_version_id=course.version_id,
            ),
            course_title="x",
            content_version="x",
            policy=app.state.certificate_policy,
        )
        session.rollback()  # never issued: never logged
    lines = [json.loads(line) for line in log.read_text().splitlines() if line]
    assert [(e["event"], e["number"]) for e in lines] == [("issued", certificate.number)]
    assert lines[0]["holder_nip"] == _nip(1) and lines[0]["code"] == certificate.code
    with Session(app.state.engine) as session:
        assert (
            session.exec(select(Certificate).where(col(Certificate.user_id) == user_id)).first()
            is None
        )
    app.state.engine.dispose()


def test_a_torn_line_never_swallows_the_next_and_savepoints_wait_for_the_commit(
    db_url, tmp_path
) -> None:
    from modules.certificates import issuance_log

    log = tmp_path / "log.jsonl"
    log.write_text('{"event": "issued", "id": 1, "num')  # a crash in the middle of a line
    issuance_log.append(log, [{"event": "issued", "id": 2, "number": "B"}])
    assert [e["id"] for e in issuance_log.read([log])] == [2]

    app = make_app(db_url, tmp_path, issuance_log=log)
    with Session(app.state.engine) as session:
        session.begin()
        with session.begin_nested():  # a savepoint released: not yet a commit
            issuance_log.note(session, log, {"event": "revoked", "id": 9, "number": "X"})
        assert [e["id"] for e in issuance_log.read([log])] == [2]
        session.rollback()
    with Session(app.state.engine) as session:
        issuance_log.note(session, log, {"event": "revoked", "id": 10, "number": "Y"})
        session.close()  # closed without a commit: nothing written, even on its next commit
        session.commit()
    assert [e["id"] for e in issuance_log.read([log])] == [2]
    app.state.engine.dispose()


def test_a_mistyped_log_is_refused_and_an_unplaceable_certificate_leaves_the_others(
    db_url, tmp_path, cli_env
) -> None:
    log = cli_env.log
    app = make_app(db_url, tmp_path, issuance_log=log)
    first, second = _learner(app, 1), _learner(app, 2)
    assert cli_env("backup", str(tmp_path / "b")).exit_code == 0
    lost = [_complete(app, first), _complete(app, second)]
    with app.state.engine.begin() as conn:  # a table of a newer release, not in the backup
        conn.exec_driver_sql("CREATE TABLE newer_feature (id INTEGER PRIMARY KEY)")
    app.state.engine.dispose()
    _quiet(db_url)

    typo = cli_env("restore", str(tmp_path / "b"), "--yes", "--log", str(tmp_path / "nope.jsonl"))
    assert typo.exit_code == 2 and "no issuance log" in typo.output

    restored = cli_env("restore", str(tmp_path / "b"), "--yes")
    assert restored.exit_code == 0 and "2 certificate(s) put back" in restored.output
    app = make_app(db_url, tmp_path / "again", issuance_log=log)
    with app.state.engine.connect() as conn:
        from sqlalchemy import inspect

        assert not inspect(conn).has_table("newer_feature")  # the schema came back whole
    # a restore done another way would have lost them again; meanwhile the first learner
    # earned the course anew: their logged certificate cannot go back, the other's still can
    with app.state.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM certificate")
        conn.exec_driver_sql("DELETE FROM course_completion WHERE course_id = 'demo'")
    anew = _complete(app, first)
    again = cli_env("learning", "reinstate")
    assert again.exit_code == 0, again.output
    assert "1 certificate(s) put back" in again.output
    assert f"not put back: {lost[0].number}" in again.output
    numbers = _numbers(app)
    assert numbers[lost[1].id] == lost[1].number and numbers[anew.id] == anew.number
    assert lost[0].id not in numbers
    app.state.engine.dispose()


def _quiet(db_url: str) -> None:
    """Behind PgBouncer, drop its idle server connections to the test's database (a restore
    refuses a database that others are connected to)."""
    if DB_CHOICE == "sqlite" or DIRECT_URL == DB_CHOICE:
        return
    import psycopg

    url = make_url(DB_CHOICE)
    name = make_url(db_url).database
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname="pgbouncer", autocommit=True
    ) as admin:
        admin.execute(f'KILL "{name}"')
        admin.execute(f'RESUME "{name}"')


def test_a_restore_refuses_a_database_still_in_use(db_url, tmp_path, cli_env) -> None:
    app = make_app(db_url, tmp_path, issuance_log=cli_env.log)
    app.state.engine.dispose()
    _quiet(db_url)
    assert cli_env("backup", str(tmp_path / "b")).exit_code == 0
    _quiet(db_url)
    if DB_CHOICE == "sqlite":  # a server of this machine that still has the file open
        path = make_url(db_url).database
        holder = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-c",
                f"import sqlite3,sys; c=sqlite3.connect({path!r}); c.execute('select 1'); "
                "print('open', flush=True); sys.stdin.read()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        who, release = str(holder.pid), lambda: holder.communicate("")
    else:  # a session on the database
        import psycopg

        direct = make_url(DIRECT_URL).set(database=make_url(db_url).database)
        session = psycopg.connect(
            host=direct.host, port=direct.port, user=direct.username, dbname=direct.database
        )
        who = str(session.info.backend_pid)
        release = session.close
    try:
        refused = cli_env("restore", str(tmp_path / "b"), "--yes")
        assert refused.exit_code == 2 and "in use" in refused.output and who in refused.output
    finally:
        release()
    assert cli_env("restore", str(tmp_path / "b"), "--yes").exit_code == 0


def test_a_backup_is_verified_without_restoring_it(db_url, tmp_path, cli_env) -> None:
    app = make_app(db_url, tmp_path, issuance_log=cli_env.log)
    _complete(app, _learner(app, 1))
    app.state.engine.dispose()
    assert cli_env("backup", str(tmp_path / "b")).exit_code == 0
    checked = cli_env("verify-backup", str(tmp_path / "b"))
    assert checked.exit_code == 0 and "1 certificate(s)" in checked.output, checked.output
    dump = tmp_path / "b" / (backup.SQLITE_FILE if DB_CHOICE == "sqlite" else backup.POSTGRES_FILE)
    dump.write_bytes(dump.read_bytes()[:4096])  # cut short, as a broken copy would be
    broken = cli_env("verify-backup", str(tmp_path / "b"))
    assert broken.exit_code == 2 and "error:" in broken.output, broken.output
