"""Cross-module learning events: a lesson done may complete the course."""

from __future__ import annotations

from sqlmodel import Session

from modules.courses.service import CourseView
from modules.progress import service


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
    if course.content.completion == "all_lessons" and set(course.lesson_ids) <= done:
        return service.record_completion(
            session=session,
            user_id=user_id,
            course_id=course.id,
            version_id=course.version_id,
            jp=course.content.jp,
        )
    return False
