"""Test helpers: the best answer to any question, and passing a course's quizzes."""

from __future__ import annotations

from sqlmodel import Session

from modules.courses.service import CourseView
from modules.learning import workflow
from modules.quizzes import service
from modules.quizzes.grading import best_answer


def pass_quizzes(app, user_id: int, course: CourseView) -> None:
    """Take and pass every graded quiz of a course with the best answers, through the learning
    workflow (start, answers, hand in) as the pages do."""
    for module in course.content.modules:
        for quiz in module.quizzes:
            if quiz.self_assessment:
                continue
            with Session(app.state.engine, expire_on_commit=False) as session:
                attempt = workflow.start_attempt(
                    session=session,
                    user_id=user_id,
                    course=course,
                    quiz=quiz,
                    catalogue=app.state.catalogue,
                )
                by_id = {q.id: q for q in quiz.questions}
                for drawn in service.layout(attempt):
                    service.save_answer(
                        session=session,
                        attempt=attempt,
                        quiz=quiz,
                        question_id=drawn.id,
                        value=best_answer(by_id[drawn.id]),
                    )
                workflow.hand_in(session=session, attempt=attempt, catalogue=app.state.catalogue)
                done = service.get_attempt(session=session, attempt_id=attempt.id, fresh=True)
                assert done is not None and done.passed, (quiz.id, done and done.score)
