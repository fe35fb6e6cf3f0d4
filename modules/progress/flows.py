"""Cross-module learning events: a lesson done may complete the course."""

from __future__ import annotations

from sqlmodel import Session

from modules.courses.service import CourseView
from modules.progress import service
from modules.quizzes import service as quizzes_service


def undo_lesson(*, session: Session, user_id: int, course: CourseView, lesson_id: str) -> bool:
    """Take back a "done" mark, unless the course is already completed: a completion (and its
    JP) is an event that stays, so its lessons stay done too. True if taken back."""
    if service.completion(session=session, user_id=user_id, course_id=course.id) is not None:
        return False
    service.mark_undone(session=session, user_id=user_id, course_id=course.id, lesson_id=lesson_id)
    return True


def complete_if_due(
    *, session: Session, user_id: int, course: CourseView, done: set[str], completed: bool
) -> bool:
    """Record the completion when the rule is met but not yet recorded, e.g. after a new content
    version removed the only lesson a learner had left; True if recorded now."""
    if completed or not _requirements_met(session, user_id, course, done):
        return False
    return service.record_completion(
        session=session,
        user_id=user_id,
        course_id=course.id,
        version_id=course.version_id,
        jp=course.content.jp,
    )


def _requirements_met(session: Session, user_id: int, course: CourseView, done: set[str]) -> bool:
    """`all_lessons`: every lesson done. `modules`: every module complete, i.e. its lessons done
    and its graded quizzes passed (self-assessments are taken but never block)."""
    if not set(course.lesson_ids) <= done:
        return False
    if course.content.completion == "modules":
        graded = [q for m in course.content.modules for q in m.quizzes if not q.self_assessment]
        passed = quizzes_service.passed_quiz_ids(
            session=session, user_id=user_id, course_id=course.id, quizzes=graded
        )
        return all(q.id in passed for q in graded)
    return True


def complete_course_if_due(*, session: Session, user_id: int, course: CourseView) -> bool:
    """After a quiz is submitted: complete the course if that was the last requirement."""
    done = service.done_lessons(session=session, user_id=user_id, course_id=course.id)
    completed = service.completion(session=session, user_id=user_id, course_id=course.id)
    return complete_if_due(
        session=session, user_id=user_id, course=course, done=done, completed=completed is not None
    )


def complete_lesson(*, session: Session, user_id: int, course: CourseView, lesson_id: str) -> bool:
    """Mark a lesson done, then complete the course when its rule is met; True if completed now."""
    service.mark_done(
        session=session,
        user_id=user_id,
        course_id=course.id,
        lesson_id=lesson_id,
        version_id=course.version_id,
    )
    done = service.done_lessons(session=session, user_id=user_id, course_id=course.id)
    return complete_if_due(
        session=session, user_id=user_id, course=course, done=done, completed=False
    )
