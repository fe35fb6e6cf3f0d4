"""Quiz attempts against the real database: reproducible draws, answers saved as given and found
again after a "disconnect", one graded attempt under concurrent submits, time and attempt
limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from app import clock
from app.clock import ManualClock, as_utc, utcnow
from app.main import create_app
from modules.courses import service as courses_service
from modules.learning import workflow
from modules.quizzes import service
from modules.quizzes.grading import best_answer
from modules.quizzes.models import QuizAttempt
from tests.conftest import make_settings, make_user
from tests.modules.courses.test_content_check import write_course
from tests.modules.quizzes.test_quiz_format import QUIZ


@pytest.fixture
def quiz_env(db_url: str, tmp_path: Path):
    root = write_course(
        tmp_path / "content",
        {
            "demo/01-satu/09-kuis.quiz.md": QUIZ.replace("attempts: 3", "attempts: 2").replace(
                "draw: 7\n", ""
            )
        },
    )
    app = create_app(make_settings(db_url, content_dir=root))
    courses_service.sync_content(engine=app.state.engine, root=root)
    course = app.state.catalogue.get("demo")
    quiz = course.content.modules[0].quizzes[0]
    with Session(app.state.engine, expire_on_commit=False) as session:
        user_id = make_user(session).id
    yield app, course, quiz, user_id
    app.state.engine.dispose()


def start(app, course, quiz, user_id, now=None):
    """Start (or resume) through the learning workflow, as the start button does; `now` moves
    the clock."""
    with (
        clock.use(ManualClock(now) if now else clock.current()),
        Session(app.state.engine, expire_on_commit=False) as session,
    ):
        return workflow.start_attempt(
            session=session,
            user_id=user_id,
            course=course,
            quiz=quiz,
            catalogue=app.state.catalogue,
        )


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**62))
def test_the_seed_makes_the_draw_reproducible(seed: int) -> None:
    from modules.courses.content import load_content_dir

    quiz = _quiz_for_draw()
    first, second = service.draw(quiz, seed), service.draw(quiz, seed)
    assert first == second
    assert len(first) == 7 and len({d.id for d in first}) == 7
    for drawn in first:
        question = next(q for q in quiz.questions if q.id == drawn.id)
        assert sorted(drawn.options) == list(range(len(question.options)))
        if question.type == "ordering":
            assert drawn.options != sorted(drawn.options)  # never shown in the answer order
    assert load_content_dir  # the quiz came from the real loader


_CACHE: dict[str, object] = {}


def _quiz_for_draw():
    if "quiz" not in _CACHE:
        import tempfile

        from modules.courses.content import load_content_dir

        root = write_course(Path(tempfile.mkdtemp()), {"demo/01-satu/09-kuis.quiz.md": QUIZ})
        courses, _ = load_content_dir(root)
        _CACHE["quiz"] = courses[0].content.modules[0].quizzes[0]
    return _CACHE["quiz"]


def test_draw_per_tag() -> None:
    quiz = _quiz_for_draw().model_copy(update={"draw": {"konsep": 2, "kasus": 1}})
    for seed in range(30):
        drawn = service.draw(quiz, seed)
        tags = [next(q for q in quiz.questions if q.id == d.id).tags for d in drawn]
        assert len(drawn) == 3
        assert sum("kasus" in t for t in tags) == 1


def test_answers_survive_a_disconnect_and_resume(quiz_env) -> None:
    app, course, quiz, user_id = quiz_env
    attempt = start(app, course, quiz, user_id)
    first_id = "satu-q4"  # the short-answer question
    with Session(app.state.engine, expire_on_commit=False) as session:
        service.save_answer(
            session=session, attempt=attempt, quiz=quiz, question_id=first_id, value="  Negara "
        )
    again = start(app, course, quiz, user_id)  # another device, a new connection
    assert again.id == attempt.id
    with Session(app.state.engine, expire_on_commit=False) as session:
        assert service.answers(session=session, attempt_id=again.id) == {first_id: "Negara"}


@pytest.mark.parametrize("value", [None, "x", 99, -1, [0], True, {"a": 1}])
def test_answers_of_the_wrong_shape_are_refused(quiz_env, value) -> None:
    app, course, quiz, user_id = quiz_env
    attempt = start(app, course, quiz, user_id)
    single = next(
        d.id
        for d in service.layout(attempt)
        if next(q for q in quiz.questions if q.id == d.id).type == "single"
    )
    with (
        Session(app.state.engine, expire_on_commit=False) as session,
        pytest.raises(service.AnswerInvalid),
    ):
        service.save_answer(
            session=session, attempt=attempt, quiz=quiz, question_id=single, value=value
        )


def test_a_question_not_drawn_is_refused(quiz_env) -> None:
    app, course, quiz, user_id = quiz_env
    attempt = start(app, course, quiz, user_id)
    with Session(app.state.engine, expire_on_commit=False) as session:
        attempt.layout = '[{"id": "satu-q1", "options": [1, 0]}]'  # a one-question draw
        session.add(attempt)
        session.commit()
        with pytest.raises(service.AnswerInvalid):
            service.save_answer(
                session=session, attempt=attempt, quiz=quiz, question_id="satu-q2", value=[0]
            )


def test_concurrent_submits_grade_once(quiz_env) -> None:
    app, course, quiz, user_id = quiz_env
    attempt = start(app, course, quiz, user_id)
    with Session(app.state.engine, expire_on_commit=False) as session:
        for drawn in service.layout(attempt):
            question = next(q for q in quiz.questions if q.id == drawn.id)
            if question.type == "single":
                right = next(i for i, o in enumerate(question.options) if o.correct)
                service.save_answer(
                    session=session, attempt=attempt, quiz=quiz, question_id=drawn.id, value=right
                )

    def submit(_i: int):
        with Session(app.state.engine, expire_on_commit=False) as session:
            done = service.submit(session=session, attempt_id=attempt.id, quiz=quiz)
            return as_utc(done.submitted_at), done.score

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = set(pool.map(submit, range(12)))
    assert len(results) == 1  # one submission time, one score: graded once
    with Session(app.state.engine, expire_on_commit=False) as session:
        rows = session.exec(select(QuizAttempt)).all()
        assert len(rows) == 1 and rows[0].submitted_at is not None


def test_concurrent_starts_make_one_attempt(quiz_env) -> None:
    app, course, quiz, user_id = quiz_env
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(lambda _i: start(app, course, quiz, user_id).id, range(12)))
    assert len(ids) == 1


def test_time_limit_is_enforced_by_the_server_clock(quiz_env) -> None:
    app, course, quiz, user_id = quiz_env
    began = utcnow()
    attempt = start(app, course, quiz, user_id, now=began)
    assert attempt.deadline_at is not None
    late = began + timedelta(minutes=quiz.time_limit, seconds=1)
    first = service.layout(attempt)[0].id
    with (
        Session(app.state.engine, expire_on_commit=False) as session,
        pytest.raises(service.AttemptClosed),
    ):
        service.save_answer(
            session=session, attempt=attempt, quiz=quiz, question_id=first, value=0, now=late
        )
    second = start(app, course, quiz, user_id, now=late)  # the expired one is graded first
    assert second.id != attempt.id and second.number == 2
    with Session(app.state.engine, expire_on_commit=False) as session:
        graded = session.get(QuizAttempt, attempt.id)
        assert graded.submitted_at is not None and graded.score == 0.0


def test_attempts_limit(quiz_env) -> None:
    app, course, quiz, user_id = quiz_env
    for _ in range(quiz.attempts):
        attempt = start(app, course, quiz, user_id)
        with Session(app.state.engine, expire_on_commit=False) as session:
            service.submit(session=session, attempt_id=attempt.id, quiz=quiz)
    with pytest.raises(service.AttemptsExhausted):
        start(app, course, quiz, user_id)
    with Session(app.state.engine, expire_on_commit=False) as session:
        best = service.standing(session=session, user_id=user_id, course_id=course.id, quiz=quiz)
        assert best is not None and best.number in (1, 2)


def test_an_answer_racing_the_hand_in_is_refused(quiz_env) -> None:
    """The learner's page still thinks the attempt is open (a stale copy), but another tab
    handed it in: the write itself checks, so nothing lands after the grading."""
    app, course, quiz, user_id = quiz_env
    attempt = start(app, course, quiz, user_id)
    stale = QuizAttempt(**attempt.model_dump())
    with Session(app.state.engine, expire_on_commit=False) as session:
        service.submit(session=session, attempt_id=attempt.id, quiz=quiz)
    first = service.layout(stale)[0]
    question = next(q for q in quiz.questions if q.id == first.id)
    with (
        Session(app.state.engine, expire_on_commit=False) as session,
        pytest.raises(service.AttemptClosed),
    ):
        service.save_answer(
            session=session,
            attempt=stale,
            quiz=quiz,
            question_id=first.id,
            value=best_answer(question),
        )
    with Session(app.state.engine, expire_on_commit=False) as session:
        kept = service.answers(session=session, attempt_id=attempt.id)
        assert kept[first.id] is None  # what the grading saw: unanswered


def test_every_drawn_question_keeps_its_score_after_the_hand_in(quiz_env) -> None:
    """Answers are scored as they are saved; the hand-in fills in the unanswered ones and an
    answer saved without a score (an attempt begun before scoring on save)."""
    from sqlalchemy import update

    from modules.quizzes.models import QuizAnswer

    app, course, quiz, user_id = quiz_env
    attempt = start(app, course, quiz, user_id)
    drawn = [d.id for d in service.layout(attempt)]
    by_id = {q.id: q for q in quiz.questions}
    with Session(app.state.engine, expire_on_commit=False) as session:
        for qid in drawn[:2]:
            service.save_answer(
                session=session,
                attempt=attempt,
                quiz=quiz,
                question_id=qid,
                value=best_answer(by_id[qid]),
            )
        session.exec(
            update(QuizAnswer).where(QuizAnswer.question_id == drawn[1]).values(score=None)
        )
        session.commit()
        service.submit(session=session, attempt_id=attempt.id, quiz=quiz)
        scores = dict(
            session.exec(
                select(QuizAnswer.question_id, QuizAnswer.score).where(
                    QuizAnswer.attempt_id == attempt.id
                )
            ).all()
        )
    expected = {
        qid: (1.0 if i < 2 else 0.0) if by_id[qid].graded else None for i, qid in enumerate(drawn)
    }
    assert scores == expected
