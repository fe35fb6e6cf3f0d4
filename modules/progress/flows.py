"""Cross-module learning events: a lesson done may complete the course."""

from __future__ import annotations

from sqlmodel import Session

from modules.courses.service import CourseView
from modules.progress import service


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
    if completed or course.content.completion != "all_lessons":
        return False
    if not set(course.lesson_ids) <= done:
        return False
    return service.record_completion(
        session=session,
        user_id=user_id,
        course_id=course.id,
        version_id=course.version_id,
        jp=course.content.jp,
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
