"""Test helpers: the best answer to any question, passing a course's quizzes (and handing in
its pre-test and survey), and writing its action plan."""

from __future__ import annotations

from sqlmodel import Session

from modules.courses.service import CourseView
from modules.learning import workflow
from modules.quizzes import service
from modules.quizzes.grading import best_answer


def pass_quizzes(
    app, user_id: int, course: CourseView, kinds: tuple[str, ...] | None = None
) -> None:
    """Take every quiz completion asks for (pass the graded ones, hand in the pre-test and the
    survey) with the best answers, through the learning workflow (start, answers, hand in) as
    the pages do."""
    for module in course.content.modules:
        for quiz in module.quizzes:
            if not quiz.required or (kinds is not None and quiz.kind not in kinds):
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
                assert done is not None and done.submitted_at is not None
                assert done.passed or quiz.hand_in_completes, (quiz.id, done.score)


def write_plan(app, user_id: int, course: CourseView) -> object:
    """Write the course's action plan (its last activity) for the learner, through the
    workflow; the outcome says whether it completed the course."""
    from datetime import date, timedelta

    from modules.plans import service as plans

    activity = course.content.plan
    assert activity is not None
    tag = activity.values[0]
    plan_input = plans.PlanInput(
        items=[
            plans.ItemInput(
                tag,
                "Setiap Jumat saya menjawab semua aduan warga minggu itu.",
                "Tidak ada aduan tanpa jawaban lebih dari lima hari kerja.",
                date.today() + timedelta(days=30),
            )
        ],
        supervisor_name=None,
        supervisor_email=None,
    )
    with Session(app.state.engine, expire_on_commit=False) as session:
        return workflow.plan_written(
            session=session, user_id=user_id, course=course, plan_input=plan_input
        )


def complete_shipped(app, user_id: int, course: CourseView) -> None:
    """Complete a course the way a learner does: its quizzes and tests, every lesson, then the
    action plan when it has one."""
    pass_quizzes(app, user_id, course)
    with Session(app.state.engine) as session:
        for lesson_id in course.lesson_ids:
            workflow.lesson_done(
                session=session, user_id=user_id, course=course, lesson_id=lesson_id
            )
    if course.content.plan is not None:
        write_plan(app, user_id, course)
