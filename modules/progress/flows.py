"""Cross-module learning events: lesson done → module complete → course complete →
certificate issued."""

from __future__ import annotations

import logging

from sqlmodel import Session

from modules.certificates import service as certificates_service
from modules.certificates.service import IssuePolicy
from modules.courses.service import CourseView
from modules.progress import service
from modules.quizzes import service as quizzes_service

log = logging.getLogger("berakhlak.progress")


def undo_lesson(*, session: Session, user_id: int, course: CourseView, lesson_id: str) -> bool:
    """Take back a "done" mark, unless the course is already completed: a completion (and its
    JP) is an event that stays, so its lessons stay done too. True if taken back."""
    if service.completion(session=session, user_id=user_id, course_id=course.id) is not None:
        return False
    service.mark_undone(session=session, user_id=user_id, course_id=course.id, lesson_id=lesson_id)
    return True


def complete_if_due(
    *,
    session: Session,
    user_id: int,
    course: CourseView,
    done: set[str],
    completed: bool,
    policy: IssuePolicy,
) -> bool:
    """Record the completion when the rule is met but not yet recorded, e.g. after a new content
    version removed the only lesson a learner had left; True if recorded now."""
    if completed:
        return False
    complete = _complete_modules(session, user_id, course, done)
    if course.content.completion == "modules":
        met = len(complete) == len(course.content.modules)
    else:
        met = set(course.lesson_ids) <= done
    if not met:
        return False
    recorded = service.record_completion(
        session=session,
        user_id=user_id,
        course_id=course.id,
        version_id=course.version_id,
        jp=course.content.jp,
    )
    if recorded:
        service.record_event(
            session=session,
            user_id=user_id,
            course_id=course.id,
            kind="course_completed",
            subject=course.id,
            version_id=course.version_id,
        )
        session.commit()
        _issue_certificate(session, user_id, course, policy)
    return recorded


def _issue_certificate(
    session: Session, user_id: int, course: CourseView, policy: IssuePolicy
) -> None:
    """The certificate for a completion just recorded. A failure here must not undo or hide
    the completion: it is logged, and the learner's certificates page issues what is owed."""
    completion = service.completion(session=session, user_id=user_id, course_id=course.id)
    if completion is None:
        return
    try:
        certificates_service.issue(
            session=session,
            completion=completion,
            course_title=course.content.title,
            content_version=course.content.version_label,
            policy=policy,
        )
    except Exception:  # noqa: BLE001 - reported, and issued again from the certificates page
        session.rollback()
        log.exception("certificate not issued for user %s, course %s", user_id, course.id)


def _complete_modules(
    session: Session, user_id: int, course: CourseView, done: set[str]
) -> set[str]:
    """Modules whose lessons are done and whose graded quizzes are passed (self-assessments
    are taken but never block); a `module_completed` event is recorded once for each."""
    ready = [m for m in course.content.modules if {lesson.id for lesson in m.lessons} <= done]
    if not ready:
        return set()
    graded = [q for m in ready for q in m.quizzes if not q.self_assessment]
    passed = quizzes_service.passed_quiz_ids(
        session=session, user_id=user_id, course_id=course.id, quizzes=graded
    )
    complete = {
        m.id for m in ready if all(q.id in passed for q in m.quizzes if not q.self_assessment)
    }
    reached = service.events(session=session, user_id=user_id, course_id=course.id)
    new = [m for m in sorted(complete) if ("module_completed", m) not in reached]
    for module_id in new:
        service.record_event(
            session=session,
            user_id=user_id,
            course_id=course.id,
            kind="module_completed",
            subject=module_id,
            version_id=course.version_id,
        )
    if new:
        session.commit()
    return complete


def quiz_submitted(
    *,
    session: Session,
    user_id: int,
    course: CourseView,
    quiz_id: str,
    score: float | None,
    passed: bool | None,
    policy: IssuePolicy,
) -> bool:
    """After a quiz is handed in: record a first pass, then complete the module and course if
    that was their last requirement; True if the course was completed now."""
    if passed:
        service.record_event(
            session=session,
            user_id=user_id,
            course_id=course.id,
            kind="quiz_passed",
            subject=quiz_id,
            version_id=course.version_id,
            score=score,
        )
    # A quiz not passed cannot complete anything (self-assessments never block), so only a
    # pass looks further.
    completed = bool(passed) and complete_course_if_due(
        session=session, user_id=user_id, course=course, policy=policy
    )
    session.commit()
    return completed


def complete_course_if_due(
    *, session: Session, user_id: int, course: CourseView, policy: IssuePolicy
) -> bool:
    """Complete the course if its requirements are all met now."""
    state = service.lesson_state(conn=session.connection(), user_id=user_id, course_id=course.id)
    return complete_if_due(
        session=session,
        user_id=user_id,
        course=course,
        done=state.done,
        completed=state.completed,
        policy=policy,
    )


def complete_lesson(
    *, session: Session, user_id: int, course: CourseView, lesson_id: str, policy: IssuePolicy
) -> bool:
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
        session=session, user_id=user_id, course=course, done=done, completed=False, policy=policy
    )
