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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.clock import utcnow
from app.db import write_lock
from modules.accounts import service as accounts
from modules.certificates import service as certificates_service
from modules.courses import service as courses
from modules.courses.schemas import QuizContent
from modules.courses.service import CourseView
from modules.learning import facts, rules
from modules.plans import service as plans
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


def lesson_done(
    *,
    session: Session,
    user_id: int,
    course: CourseView,
    lesson_id: str,
    version_id: int | None = None,
) -> Outcome:
    """A lesson marked done; completes its module and the course when that was all they
    lacked. `version_id`: the earlier version the lesson is from, when the live one removed it
    (a mark queued offline on the learner's version): recorded against it, while the live
    version decides what completes."""
    with _transaction(session):
        progress.lock_learner(session=session, user_id=user_id, course_id=course.id)
        progress.mark_done(
            session=session,
            user_id=user_id,
            course_id=course.id,
            lesson_id=lesson_id,
            version_id=version_id or course.version_id,
        )
        return _settle(session, user_id, course)


def lesson_undone(*, session: Session, user_id: int, course: CourseView, lesson_id: str) -> bool:
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
    progress.ensure_enrolled(conn=session.connection(), user_id=user_id, course_id=course.id)
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


class PlanNotOpen(RuntimeError):
    """The action plan is the last activity: the rest of the course comes first."""


def plan_written(
    *,
    session: Session,
    user_id: int,
    course: CourseView,
    plan_input: plans.PlanInput,
    address: str = "",
) -> Outcome:
    """The learner wrote (or rewrote) their action plan, the course's last activity: it is
    recorded, then what it completes (the course, with the certificate it owes)."""
    with _transaction(session):
        progress.lock_learner(session=session, user_id=user_id, course_id=course.id)
        before = facts.standing(session, user_id, course)
        rewrite = plans.written(session=session, user_id=user_id, course_id=course.id)
        if not before.plan_open and not rewrite:
            raise PlanNotOpen(course.id)
        plans.write(
            session=session,
            user_id=user_id,
            course_id=course.id,
            version_id=course.version_id,
            plan_input=plan_input,
            address=address,
        )
        return _settle(session, user_id, course)


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
    if not graded.passed and not found[1].hand_in_completes:
        return Outcome()  # a quiz not passed completes nothing
    progress.record_event(
        session=session,
        user_id=attempt.user_id,
        course_id=attempt.course_id,
        kind="quiz_passed" if graded.passed else "quiz_handed_in",
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
    standing = facts.standing(session, user_id, course, state.done)
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
    # what the completion owes, in the same transaction: the worker issues it; for a person
    # whose email address is not confirmed yet, once it is (`email_verified`)
    if accounts.is_verified(session=session, user_id=user_id):
        _owe(session, completion)
    return Outcome(completed_now=True, standing=standing)


def _owe(session: Session, completion: Any) -> None:
    certificates_service.owe(
        session=session,
        owed=certificates_service.Owed(
            user_id=completion.user_id,
            course_id=completion.course_id,
            completed_at=completion.completed_at or utcnow(),
            jp=completion.jp,
            content_version_id=completion.content_version_id,
        ),
    )


def email_verified(*, session: Session, user_id: int) -> int:
    """The event "a person confirmed their email address": the certificates of the courses
    they completed meanwhile become owed (the worker issues them). Returns how many."""
    owed = 0
    with _transaction(session):
        for completion in progress.completions_of(session=session, user_id=user_id):
            issued = certificates_service.current(
                session=session, user_id=user_id, course_id=completion.course_id
            )
            if issued is None:
                _owe(session, completion)
                owed += 1
    return owed


def holder_changed(*, session: Session, user_id: int, policy: Any) -> list[str]:
    """The event "the person holding an account changed" (a NIP dispute resolved by
    transfer): every certificate still valid is re-issued in the current name (the old one
    revoked, pointing to the new), and the completions not yet certified are owed. Returns the
    new numbers. Safe to run again: a certificate already in the current name is left."""
    name = accounts.get(session=session, user_id=user_id).name
    numbers = []
    seen: set[str] = set()
    for certificate in certificates_service.for_user(session=session, user_id=user_id):
        if certificate.course_id in seen or certificate.revoked_at is not None:
            continue
        seen.add(certificate.course_id)  # newest first: the latest of each course
        if certificate.holder_name == name:
            continue
        new = certificates_service.reissue(
            session=session, certificate=certificate, policy=policy, actor_id=None, address=""
        )
        numbers.append(new.number)
    email_verified(session=session, user_id=user_id)
    return numbers


# ---- after a restore -------------------------------------------------------------------------


@dataclass
class Reinstated:
    """What putting back the issuance log's certificates did."""

    generation: int | None = None  # the new restore generation (after a restore)
    certificates: list[str] = field(default_factory=list)  # numbers put back
    revocations: list[str] = field(default_factory=list)  # numbers revoked again
    unplaced: list[dict[str, Any]] = field(default_factory=list)  # holder or course unknown
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    failed: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # entry, why


def after_restore(*, session: Session, entries: list[dict[str, Any]]) -> Reinstated:
    """The event "the database was restored from an older backup": a new restore generation
    and the serials and certificate ids moved past the logs' (committed first, whatever
    happens next), then `reinstate`."""
    with _transaction(session):
        generation = certificates_service.advance_generation(session, entries)
    done = reinstate(session=session, entries=entries)
    done.generation = generation
    return done


def reinstate(*, session: Session, entries: list[dict[str, Any]]) -> Reinstated:
    """Put back, from the issuance log, each certificate the database lacks whose holder (by
    NIP) and course it knows, with the completion it records (and its JP), as it was: same
    id, number and code, so the paper the holder has verifies again; apply again the
    revocations it lacks. Run again once a missing holder has registered again."""
    with _transaction(session):
        return _reinstate(session, entries)


def _reinstate(session: Session, entries: list[dict[str, Any]]) -> Reinstated:
    gaps = certificates_service.restore_gaps(session, entries)
    done = Reinstated(conflicts=gaps.conflicts)
    for entry in gaps.issued:
        user = accounts.get_by_nip(session=session, nip=entry["holder_nip"])
        course = courses.course_row(session=session, course_id=entry["course_id"])
        if user is None or user.id is None or course is None:
            done.unplaced.append(entry)
            continue
        try:
            with session.begin_nested():  # one that cannot be put back leaves the others
                _put_back(session, entry, user.id, course.id)
        except DBAPIError as exc:  # e.g. the holder has since earned this course again
            done.failed.append((entry, str(exc.orig).splitlines()[0][:200]))
            continue
        done.certificates.append(entry["number"])
    for entry in gaps.revoked:
        if certificates_service.revoke_again(session, entry):
            done.revocations.append(entry["number"])
    return done


def _put_back(session: Session, entry: dict[str, Any], user_id: int, course_id: str) -> None:
    """One logged certificate and the completion it records (and its JP), as they were."""
    version = courses.version_of(
        session=session, course_id=course_id, version_id=entry["content_version_id"]
    )
    completed_at = datetime.fromisoformat(entry["completed_at"])
    if progress.record_completion(
        session=session,
        user_id=user_id,
        course_id=course_id,
        version_id=version,
        jp=entry["jp"],
        at=completed_at,
    ):
        progress.record_event(
            session=session,
            user_id=user_id,
            course_id=course_id,
            kind="course_completed",
            subject=course_id,
            version_id=version,
            at=completed_at,
        )
    certificates_service.put_back(session, entry, user_id=user_id, content_version_id=version)
