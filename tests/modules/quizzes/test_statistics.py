"""Item statistics: facility, discrimination and option choices from graded attempts."""

from __future__ import annotations

from sqlmodel import Session

from modules.learning import workflow
from modules.quizzes import service, statistics
from tests.conftest import make_user
from tests.modules.quizzes.test_attempts import quiz_env

__all__ = ["quiz_env"]


def test_item_statistics(quiz_env) -> None:
    app, course, quiz, _first_user = quiz_env
    engine = app.state.engine
    # five learners: learner k answers the single-choice question right when k >= 2, and the
    # short answer right only when k == 4 (the strongest)
    for k in range(5):
        with Session(engine, expire_on_commit=False) as session:
            user = make_user(session, f"19900101201503100{k + 2}", f"p{k}@bkn.go.id")
            attempt = workflow.start_attempt(
                session=session,
                user_id=user.id,
                course=course,
                quiz=quiz,
                catalogue=app.state.catalogue,
            )
            service.save_answer(
                session=session,
                attempt=attempt,
                quiz=quiz,
                question_id="satu-q1",
                value=0 if k >= 2 else 1,
            )
            service.save_answer(
                session=session,
                attempt=attempt,
                quiz=quiz,
                question_id="satu-q4",
                value="negara" if k == 4 else "salah",
            )
            service.save_answer(
                session=session, attempt=attempt, quiz=quiz, question_id="satu-q8", value=1 + k % 3
            )
            service.submit(session=session, attempt_id=attempt.id, quiz=quiz)
    with Session(engine) as session:
        count, items = statistics.item_statistics(session=session, course_id=course.id, quiz=quiz)
    by_id = {item.question.id: item for item in items}
    assert count == 5
    q1, q4, likert = by_id["satu-q1"], by_id["satu-q4"], by_id["satu-q8"]
    assert q1.drawn == 5 and q1.facility == 60.0
    assert q1.choices == {"0": 3, "1": 2}
    assert q4.facility == 20.0 and q4.discrimination == 1.0  # only the strongest got it
    assert q1.discrimination == 1.0
    assert by_id["satu-q2"].facility == 0.0  # drawn, left blank: counts as 0
    assert likert.facility is None and sum(likert.choices.values()) == 5
