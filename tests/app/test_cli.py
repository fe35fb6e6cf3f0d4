"""The `berakhlak` command line against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.clock import utcnow
from app.main import build_state
from app.settings import ROOT
from modules.accounts.models import RoleGrant, User
from modules.certificates.models import Certificate
from modules.learning import rules
from modules.plans.models import ActionPlan
from modules.progress.models import CourseCompletion, Enrollment, LessonProgress
from modules.quizzes.models import QuizAttempt
from tests.conftest import PASSWORD, cli_environment, make_settings, make_user
from tests.modules.courses.test_content_check import BROKEN, write_course


@pytest.fixture
def run(db_url: str, monkeypatch, tmp_path):
    cli_environment(monkeypatch, tmp_path, db_url)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(cli, list(args), input=stdin)

    return invoke


def test_users_create_first_admin(run, db_url: str) -> None:
    result = run(
        "users",
        "create",
        "--nip",
        "198503142010011001",
        "--name",
        "Admin Satu",
        "--email",
        "admin@bkn.go.id",
        "--agency",
        "LB-BKN",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    engine = create_engine(db_url)
    with Session(engine) as session:
        user = session.exec(select(User)).one()
        assert user.employment_type == "PNS" and user.grade == "I/a"
        assert session.exec(select(RoleGrant.role)).all() == ["admin"]
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--nip", "123"), "nip:"),
        (("--agency", "TIDAK-ADA"), "unknown agency"),
        (("--role", "raja"), "unknown role"),
    ],
)
def test_users_create_bad_input(run, args: tuple[str, str], message: str) -> None:
    base = {
        "--nip": "198503142010011001",
        "--name": "Admin",
        "--email": "a@bkn.go.id",
        "--agency": "LB-BKN",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    extra = ["--role", base.pop("--role")] if "--role" in base else []
    flat = [x for pair in base.items() for x in pair] + extra
    result = run("users", "create", *flat, "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 2
    assert message in result.output


def test_users_create_weak_password(run) -> None:
    result = run(
        "users",
        "create",
        "--nip",
        "198503142010011001",
        "--name",
        "A",
        "--email",
        "a@bkn.go.id",
        "--agency",
        "LB-BKN",
        "--password-stdin",
        stdin="pendek\n",
    )
    assert result.exit_code == 2 and "password" in result.output


def test_db_upgrade_is_idempotent(run) -> None:
    assert run("db", "upgrade").exit_code == 0
    assert run("db", "upgrade").exit_code == 0


def test_content_sync_reports_broken_course_and_exit_status(run, tmp_path: Path) -> None:
    good = write_course(tmp_path / "content", {})
    result = run("content", "sync", str(good))
    assert result.exit_code == 0, result.output
    assert "tersinkron: demo 1.0.0+" in result.output
    (good / "demo/01-satu/02-b.md").write_text(BROKEN["unknown key"][0]["demo/01-satu/02-b.md"])
    result = run("content", "sync", str(good))
    assert result.exit_code == 1
    assert "kunci 'author' tidak dikenal" in result.output
    assert "versi 1.0.0+" in result.output and "tetap ditayangkan" in result.output


def test_shipped_content_check_from_the_cli() -> None:
    result = CliRunner().invoke(cli, ["content", "check", str(ROOT / "content")])
    assert result.exit_code == 0, result.output


def test_users_set_password_for_a_forgetful_learner(run, db_url: str) -> None:
    assert (
        run(
            "users",
            "create",
            "--nip",
            "199001012015031001",
            "--name",
            "Siti",
            "--email",
            "siti@bkn.go.id",
            "--agency",
            "LB-BKN",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        ).exit_code
        == 0
    )
    weak = run(
        "users", "set-password", "--nip", "199001012015031001", "--password-stdin", stdin="pendek\n"
    )
    assert weak.exit_code == 2 and "12" in weak.output
    unknown = run(
        "users",
        "set-password",
        "--nip",
        "199001012015031999",
        "--password-stdin",
        stdin="kata-sandi-baru-yang-kuat\n",
    )
    assert unknown.exit_code == 2
    ok = run(
        "users",
        "set-password",
        "--nip",
        "19900101 201503 1 001",
        "--password-stdin",
        stdin="kata-sandi-baru-yang-kuat\n",
    )
    assert ok.exit_code == 0, ok.output
    from app import security

    engine = create_engine(db_url)
    with Session(engine) as session:
        user = session.exec(select(User)).one()
        assert security.verify_password("kata-sandi-baru-yang-kuat", user.password_hash)
    engine.dispose()


def test_the_worker_runs_what_is_ready_and_settle_repairs_a_record(run, db_url: str) -> None:
    """`berakhlak worker --once` issues an owed certificate; `berakhlak learning settle`
    completes a learner whose requirements are met (as after a content change)."""
    engine = create_engine(db_url)
    with Session(engine) as session:
        user = make_user(session)
        state = build_state(make_settings(db_url))
        course = state.catalogue.get("berakhlak")
        state.engine.dispose()
        session.add(Enrollment(user_id=user.id, course_id=course.id))
        for lesson_id in course.lesson_ids:
            session.add(
                LessonProgress(
                    user_id=user.id,
                    course_id=course.id,
                    lesson_id=lesson_id,
                    content_version_id=course.version_id,
                )
            )
        for i, quiz in enumerate(rules.graded_quizzes(course)):
            session.add(
                QuizAttempt(
                    id=f"a{i}",
                    user_id=user.id,
                    course_id=course.id,
                    quiz_id=quiz.id,
                    number=1,
                    content_version_id=course.version_id,
                    seed=i,
                    layout="[]",
                    started_at=utcnow(),
                    submitted_at=utcnow(),
                    score=1.0,
                    passed=True,
                )
            )
        session.commit()
        # the action plan, the course's last activity (written as the workflow records it)
        session.add(
            ActionPlan(user_id=user.id, course_id=course.id, content_version_id=course.version_id)
        )
        session.commit()
        nip = user.nip
    settled = run("--lang", "en", "learning", "settle", "berakhlak", "--nip", nip)
    assert settled.exit_code == 0 and "1 completed now" in settled.output, settled.output
    assert run("--lang", "en", "learning", "settle", "nope").exit_code == 2
    worked = run("--lang", "en", "worker", "--once")
    assert worked.exit_code == 0 and "job(s) run" in worked.output, worked.output
    with Session(engine) as session:
        assert session.exec(select(CourseCompletion)).one().user_id == user.id
        assert session.exec(select(Certificate)).one().holder_nip == nip
    engine.dispose()


def test_the_first_administrator_on_a_new_database(tmp_path, monkeypatch) -> None:
    """The README's recipe: `db upgrade` on an empty database, then `users create --role
    admin` with a reference agency."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("BERAKHLAK_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--nip",
            "198503142010011001",
            "--name",
            "Nama Admin",
            "--email",
            "admin@instansi.go.id",
            "--agency",
            "LB-BKN",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
