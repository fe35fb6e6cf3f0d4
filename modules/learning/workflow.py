"""The learning workflow: the one place where a learning event becomes what it completes, the
record of it, and what the completion owes.

    learning event → what it completes → the record → what is owed

Events, each an entry point below: a lesson marked done or not done, an attempt started (which
hands in an earlier attempt whose time ran out), a quiz handed in by the learner or by expiry,
and a learner settled again after a content version changed what completes the course. Each
entry point runs one transaction and commits it: the event's own record (the lesson mark, the
grading), the module and course completions it brings, and, as outbox rows in the same
transaction, what a completion owes (the certificate, which the worker issues). A crash leaves
all of it or none of it: a completion is never recorded without its certificate being owed.

Every entry point that can complete something first locks the learner in the course (see
progress's `lock_learner`), so two events of one learner (the last lesson and the last quiz at
the same moment) are decided one after the other.

Called only from POST handlers (modules/learning/router.py), the command line and the worker
(modules/learning/jobs.py); never from a page view (tests/app/test_get_safety.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.clock import utcnow
from app.db import write_lock
from modules.certificates import service as certificates_service
from modules.courses.schemas import QuizContent
from modules.courses.service import CourseView
from modules.learning import rules
from modules.progress import service as progress
from modules.quizzes import service as quizzes
from modules.quizzes.service import QuizAttempt


@dataclass(frozen=True)
class Outcome:
    """What an event changed: whether it completed the course, and the learner's standing."""

    completed_now: bool = False
    standing: rules.Standing | None = None


@contextmanager
def _transaction(session: Session) -> Iterator[None]:
    """One transaction for the event and everything it brings; committed at the end, rolled
    back on any error. SQLite admits one writer: this process's writers queue here."""
    with write_lock(session.get_bind()):  # type: ignore[arg-type]
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise


# ---- events ----------------------------------------------------------------------------------


def lesson_done(*, session: Session, user_id: int, course: CourseView, lesson_id: str) -> Outcome:
    """A lesson marked done; completes its module and the course when that was all they
    lacked."""
    with _transaction(session):
        progress.lock_learner(session=session, user_id=user_id, course_id=course.id)
        progress.mark_done(
            session=session,
            user_id=user_id,
            course_id=course.id,
            lesson_id=lesson_id,
            version_id=course.version_id,
        )
        return _settle(session, user_id, course)


def lesson_undone(
    *, session: Session, user_id: int, course: CourseView, lesson_id: str
) -> bool:
    """A "done" mark taken back, unless the course is completed: a completion (and its JP) is
    an event that stays, so its lessons stay done too. True if taken back."""
    with _transaction(session):
        progress.lock_learner(session=session, user_id=user_id, course_id=course.id)
        if progress.completion(session=session, user_id=user_id, course_id=course.id):
            return False
        progress.mark_undone(
            session=session, user_id=user_id, course_id=course.id, lesson_id=lesson_id
        )
        return True


def start_attempt(
    *,
    session: Session,
    user_id: int,
    course: CourseView,
    quiz: QuizContent,
    catalogue: Any,
) -> QuizAttempt:
    """Resume the open attempt or start a new one (AttemptsExhausted when none is left). An
    open attempt whose time ran out is handed in first, as its expiry would have: that hand-in
    is the learning event. A start itself completes nothing, so it takes no learner lock and
    commits its one insert without queueing on the process's writer lock: in a burst, that
    queue holds answer saves and hand-ins whose threads also wait for the GIL, and a start
    behind them waited twice as long (bench/compare.py); SQLite's own busy wait covers the
    rare collision."""
    try:
        attempt = quizzes.start(
            session=session,
            user_id=user_id,
            course_id=course.id,
            version_id=course.version_id,
            quiz=quiz,
        )
    except quizzes.AttemptExpired as expired:
        session.rollback()
        attempt_expired(session=session, attempt_id=expired.attempt.id, catalogue=catalogue)
        attempt = quizzes.start(
            session=session,
            user_id=user_id,
            course_id=course.id,
            version_id=course.version_id,
            quiz=quiz,
        )
    if attempt not in session.new:
        return attempt
    return quizzes.commit_start(
        session=session, attempt=attempt, user_id=user_id, course_id=course.id, quiz_id=quiz.id
    )


def hand_in(
    *,
    session: Session,
    attempt: QuizAttempt,
    catalogue: Any,
    record_answers: Callable[[Session], object] | None = None,
) -> Outcome:
    """A quiz handed in by the learner: `record_answers` saves what the page still carried
    (in the same transaction), then the attempt is graded once; a pass may complete the module
    and the course."""
    with _transaction(session):
        progress.lock_learner(session=session, user_id=attempt.user_id, course_id=attempt.course_id)
        if record_answers is not None and attempt.submitted_at is None:
            record_answers(session)
        return _hand_in(session, attempt, catalogue)


def attempt_expired(*, session: Session, attempt_id: str, catalogue: Any) -> Outcome | None:
    """An attempt whose time ran out, handed in by the worker on what was saved; None if it
    was handed in meanwhile (or no longer exists)."""
    attempt = quizzes.get_attempt(session=session, attempt_id=attempt_id)
    if attempt is None or attempt.submitted_at is not None:
        return None
    with _transaction(session):
        progress.lock_learner(session=session, user_id=attempt.user_id, course_id=attempt.course_id)
        attempt = quizzes.get_attempt(session=session, attempt_id=attempt_id, fresh=True)
        if attempt is None or attempt.submitted_at is not None:
            return None
        return _hand_in(session, attempt, catalogue)


def settle(*, session: Session, user_id: int, course: CourseView) -> Outcome:
    """Decide again what a learner has completed, against the live course version (after a
    content version changed the course's requirements). Earned completions are never taken
    back: a completed learner is left as they are."""
    with _transaction(session):
        progress.lock_learner(session=session, user_id=user_id, course_id=course.id)
        return _settle(session, user_id, course)


# ---- the steps -------------------------------------------------------------------------------


def _hand_in(session: Session, attempt: QuizAttempt, catalogue: Any) -> Outcome:
    """Grade the attempt (exactly once) on the version it started on; a first pass is recorded
    as an event, then the live course version decides what it completes."""
    started_on = catalogue.version(attempt.content_version_id)
    found = started_on.quiz(attempt.quiz_id) if started_on else None
    if found is None:
        raise LookupError(f"quiz {attempt.quiz_id} of attempt {attempt.id} is not in its version")
    graded = quizzes.submit(
        session=session, attempt_id=attempt.id, quiz=found[1], attempt=attempt, commit=False
    )
    if not graded.passed:  # a quiz not passed completes nothing
        return Outcome()
    progress.record_event(
        session=session,
        user_id=attempt.user_id,
        course_id=attempt.course_id,
        kind="quiz_passed",
        subject=attempt.quiz_id,
        version_id=attempt.content_version_id,
        score=graded.score,
    )
    live = catalogue.get(attempt.course_id)
    return _settle(session, attempt.user_id, live) if live is not None else Outcome()


def _settle(session: Session, user_id: int, course: CourseView) -> Outcome:
    """What the learner's record now completes: module events, then the course completion
    with what it owes. A module completes only once its lessons are done, so quiz results are
    read only for such modules (most hand-ins come before the lessons are all done)."""
    state = progress.lesson_state(conn=session.connection(), user_id=user_id, course_id=course.id)
    if state.completed:
        return Outcome()
    ready = rules.graded_quizzes(course, lessons_done=state.done)
    passed = (
        quizzes.passed_quiz_ids(
            session=session, user_id=user_id, course_id=course.id, quizzes=ready
        )
        if ready
        else set()
    )
    standing = rules.standing(course, state.done, passed)
    reached = (
        progress.events(session=session, user_id=user_id, course_id=course.id)
        if standing.modules_complete
        else set()
    )
    for module_id in sorted(standing.modules_complete):
        if ("module_completed", module_id) not in reached:
            progress.record_event(
                session=session,
                user_id=user_id,
                course_id=course.id,
                kind="module_completed",
                subject=module_id,
                version_id=course.version_id,
            )
    if not standing.complete:
        return Outcome(standing=standing)
    completion = progress.record_completion(
        session=session,
        user_id=user_id,
        course_id=course.id,
        version_id=course.version_id,
        jp=course.content.jp,
    )
    if completion is None:  # recorded by an earlier event
        return Outcome(standing=standing)
    progress.record_event(
        session=session,
        user_id=user_id,
        course_id=course.id,
        kind="course_completed",
        subject=course.id,
        version_id=course.version_id,
    )
    # what the completion owes, in the same transaction: the worker issues it
    certificates_service.owe(
        session=session,
        owed=certificates_service.Owed(
            user_id=user_id,
            course_id=course.id,
            completed_at=completion.completed_at or utcnow(),
            jp=completion.jp,
            content_version_id=completion.content_version_id,
        ),
    )
    return Outcome(completed_now=True, standing=standing)
