"""The learning workflow and the worker, against the real database: a completion owes its
certificate in the same transaction and the worker issues it, even after a failure inside
issuing; a timed attempt that runs out with a passing score is handed in by the worker and
completes the course; pages only read."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from app import clock, security
from app.clock import ManualClock
from app.jobs import DEAD, Job
from app.main import create_app
from modules.accounts.models import User
from modules.certificates import service as certificates_service
from modules.certificates.models import Certificate, CertificateCounter
from modules.courses import service as courses_service
from modules.learning import workflow
from modules.progress.models import CourseCompletion
from modules.quizzes import service as quizzes_service
from modules.quizzes.grading import best_answer
from tests.conftest import PASSWORD, login, make_settings, make_user, run_jobs
from tests.modules.courses.test_content_check import COURSE, write_course
from tests.modules.quizzes.test_quiz_format import QUIZ


def _app(db_url: str, root: Path):
    app = create_app(make_settings(db_url, content_dir=root))
    courses_service.sync_content(engine=app.state.engine, root=root)
    run_jobs(app)
    return app


@pytest.fixture
def demo(db_url: str, tmp_path: Path):
    """The two-lesson demo course (complete when both lessons are done)."""
    app = _app(db_url, write_course(tmp_path / "content", {}))
    yield app
    app.state.engine.dispose()


def _learner(app, index: int) -> int:
    with Session(app.state.engine) as session:
        return int(
            make_user(
                session, nip_number=f"1990010120150310{index:02d}", email=f"p{index}@bkn.go.id"
            ).id
        )


def _complete(app, user_id: int) -> None:
    course = app.state.catalogue.get("demo")
    for lesson_id in course.lesson_ids:
        with Session(app.state.engine, expire_on_commit=False) as session:
            workflow.lesson_done(
                session=session, user_id=user_id, course=course, lesson_id=lesson_id
            )


def _fail_certificate_inserts(app, on: bool) -> None:
    """A real failure inside issuing: the database refuses certificate rows (a trigger)."""
    with app.state.engine.begin() as conn:
        if app.state.engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER IF NOT EXISTS certificate_fails BEFORE INSERT ON certificate "
                    "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
                )
                if on
                else text("DROP TRIGGER certificate_fails")
            )
        elif on:
            conn.execute(
                text(
                    "CREATE FUNCTION certificate_fails() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'disk on fire'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER certificate_fails BEFORE INSERT ON certificate "
                    "FOR EACH ROW EXECUTE FUNCTION certificate_fails()"
                )
            )
        else:
            conn.execute(text("DROP TRIGGER certificate_fails ON certificate"))


def test_a_completion_owes_its_certificate_in_the_same_transaction(demo) -> None:
    user_id = _learner(demo, 1)
    _complete(demo, user_id)
    with Session(demo.state.engine) as session:
        completion = session.get(CourseCompletion, (user_id, "demo"))
        owed = certificates_service.owed_to(session=session, user_id=user_id)
        assert completion is not None and [o.course_id for o, _state in owed] == ["demo"]
        assert session.exec(select(Certificate)).all() == []  # issued by the worker only
    run_jobs(demo)
    with Session(demo.state.engine) as session:
        assert session.exec(select(Certificate.user_id)).all() == [user_id]
        assert certificates_service.owed_to(session=session, user_id=user_id) == []


def test_a_failure_inside_issuing_leaves_it_owed_and_the_next_run_issues_it_once(demo) -> None:
    learners = [_learner(demo, i) for i in (1, 2)]
    for user_id in learners:
        _complete(demo, user_id)
    _fail_certificate_inserts(demo, on=True)
    with clock.use(ManualClock()) as moment:
        run_jobs(demo)
        with Session(demo.state.engine) as session:
            assert session.exec(select(Certificate)).all() == []
            counter = session.get(CertificateCounter, moment.now().year)
            assert counter is None or counter.last == 0  # the numbers taken were given back
            for user_id in learners:  # owed and visible, waiting for a retry
                states = certificates_service.owed_to(session=session, user_id=user_id)
                assert [state for _o, state in states] == ["retrying"]
        client = TestClient(demo, base_url="http://testserver")
        assert run_jobs(demo) == 0  # the retry waits for its backoff
        _fail_certificate_inserts(demo, on=False)
        moment.advance(timedelta(minutes=2))
        run_jobs(demo)
        run_jobs(demo)  # a further run changes nothing
    with Session(demo.state.engine) as session:
        rows = session.exec(select(Certificate)).all()
        assert sorted(r.user_id for r in rows) == sorted(learners)
        assert sorted(r.serial for r in rows) == [1, 2]  # no gap, no double
        assert all(certificates_service.owed_to(session=session, user_id=u) == [] for u in learners)
    client.close()


def test_a_certificate_that_keeps_failing_becomes_a_dead_letter_shown_to_the_learner(
    demo,
) -> None:
    user_id = _learner(demo, 1)
    _complete(demo, user_id)
    _fail_certificate_inserts(demo, on=True)
    with clock.use(ManualClock()) as moment:
        for _attempt in range(13):
            run_jobs(demo)
            moment.advance(timedelta(hours=2))
    with Session(demo.state.engine) as session:
        job = session.exec(select(Job).where(Job.kind == certificates_service.ISSUE_JOB)).one()
        assert job.status == DEAD and "disk on fire" in (job.last_error or "")
        owed = certificates_service.owed_to(session=session, user_id=user_id)
        assert [state for _o, state in owed] == ["dead"]


TIMED = QUIZ.replace("attempts: 3", "attempts: 2").replace("draw: 7\n", "")


@pytest.fixture
def timed(db_url: str, tmp_path: Path):
    """The demo course, complete when its lessons are done and its 20-minute quiz passed."""
    root = write_course(
        tmp_path / "content",
        {
            "demo/course.md": COURSE.replace("completion: all_lessons", "completion: modules"),
            "demo/01-satu/09-kuis.quiz.md": TIMED,
        },
    )
    app = _app(db_url, root)
    yield app
    app.state.engine.dispose()


def test_an_attempt_that_runs_out_with_a_passing_score_completes_the_course(timed) -> None:
    app = timed
    user_id = _learner(app, 1)
    _complete(app, user_id)  # the lessons; the quiz is still to pass
    course = app.state.catalogue.get("demo")
    quiz = course.content.modules[0].quizzes[0]
    with clock.use(ManualClock()) as moment:
        with Session(app.state.engine, expire_on_commit=False) as session:
            attempt = workflow.start_attempt(
                session=session,
                user_id=user_id,
                course=course,
                quiz=quiz,
                catalogue=app.state.catalogue,
            )
            by_id = {q.id: q for q in quiz.questions}
            for drawn in quizzes_service.layout(attempt):
                quizzes_service.save_answer(
                    session=session,
                    attempt=attempt,
                    quiz=quiz,
                    question_id=drawn.id,
                    value=best_answer(by_id[drawn.id]),
                )
        moment.advance(timedelta(minutes=quiz.time_limit, seconds=1))
        client = TestClient(app, base_url="http://testserver")
        with Session(app.state.engine) as session:
            user = session.get(User, user_id)
            user.password_hash = security.hash_password(PASSWORD)
            nip = user.nip
            session.add(user)
            session.commit()
        assert login(client, nip).status_code == 303
        page = client.get(f"/attempts/{attempt.id}")  # the page says time is up, never grades
        assert page.status_code == 200 and "Waktu habis" in page.text
        with Session(app.state.engine) as session:
            assert (
                quizzes_service.get_attempt(session=session, attempt_id=attempt.id).submitted_at
                is None
            )
            assert session.get(CourseCompletion, (user_id, "demo")) is None
        moment.advance(timedelta(minutes=1))  # the minute's expiry run is due
        run_jobs(app)
    with Session(app.state.engine) as session:
        graded = quizzes_service.get_attempt(session=session, attempt_id=attempt.id)
        assert graded.submitted_at is not None and graded.passed
        assert session.get(CourseCompletion, (user_id, "demo")) is not None
        assert session.exec(select(Certificate.user_id)).all() == [user_id]
    client.close()


def test_a_done_for_a_lesson_a_newer_version_removed_is_accepted_on_its_version(
    db_url: str, tmp_path: Path
) -> None:
    """A mark queued offline on the learner's version arrives after a newer version removed
    the lesson: it is recorded against the version that had it, not refused."""
    from modules.courses.models import ContentVersion
    from modules.progress.models import LessonProgress
    from tests.conftest import csrf_from

    third = "---\nid: satu-c\ntitle: Bab Tiga\nminutes: 5\n---\nIsi bab tiga.\n"
    root = write_course(tmp_path / "content", {"demo/01-satu/03-c.md": third})
    app = _app(db_url, root)
    user_id = _learner(app, 1)
    with Session(app.state.engine) as session:
        user = session.get(User, user_id)
        user.password_hash = security.hash_password(PASSWORD)
        session.add(user)
        session.commit()
        first_version = session.exec(
            select(ContentVersion.id).where(ContentVersion.course_id == "demo")
        ).one()
    (root / "demo" / "01-satu" / "03-c.md").unlink()
    courses_service.sync_content(engine=app.state.engine, root=root)
    app.state.catalogue.refresh(force=True)
    assert app.state.catalogue.get("demo").lesson("satu-c") is None
    with TestClient(app) as client:
        login(client, "p1@bkn.go.id")
        token = csrf_from(client, "/")
        done = client.post(
            "/courses/demo/lessons/satu-c/done",
            data={"csrf_token": token},
            headers={"HX-Request": "true"},
        )
        assert done.status_code == 200, done.headers
        unknown = client.post(
            "/courses/demo/lessons/tidak-ada/done",
            data={"csrf_token": token},
            headers={"HX-Request": "true"},
        )
        assert unknown.status_code == 404
    with Session(app.state.engine) as session:
        row = session.exec(select(LessonProgress).where(LessonProgress.user_id == user_id)).one()
        assert (row.lesson_id, row.content_version_id) == ("satu-c", first_version)
    app.state.engine.dispose()
