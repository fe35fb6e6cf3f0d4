"""Progress: lessons done, the resume point, course completions and JP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    bindparam,
    delete,
    func,
    insert,
    literal,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import personal_data
from app.clock import as_utc, utcnow
from app.db import insert_for
from modules.courses import service as courses_service
from modules.progress.models import (
    AssignmentReminder,
    CourseAssignment,
    CourseCompletion,
    Enrollment,
    LearningEvent,
    LessonProgress,
)

# Statements on the lesson-page path are built once, with bound parameters.
_DONE_IDS = select(LessonProgress.lesson_id).where(
    col(LessonProgress.user_id) == bindparam("user_id"),
    col(LessonProgress.course_id) == bindparam("course_id"),
)


# One round trip for the lesson page: each query costs a GIL hand-off under load.
_LESSON_STATE: Any = union_all(
    select(LessonProgress.lesson_id, literal(0).label("kind")).where(
        col(LessonProgress.user_id) == bindparam("user_id"),
        col(LessonProgress.course_id) == bindparam("course_id"),
    ),
    select(Enrollment.last_lesson_id, literal(1).label("kind")).where(
        col(Enrollment.user_id) == bindparam("user_id"),
        col(Enrollment.course_id) == bindparam("course_id"),
    ),
    select(CourseCompletion.course_id, literal(2).label("kind")).where(
        col(CourseCompletion.user_id) == bindparam("user_id"),
        col(CourseCompletion.course_id) == bindparam("course_id"),
    ),
)


@dataclass
class LessonState:
    """A learner's standing in one course."""

    done: set[str]
    last_lesson: str | None = None  # the resume point
    enrolled: bool = False
    completed: bool = False


def lesson_state(*, conn: Connection, user_id: int, course_id: str) -> LessonState:
    """Lessons done, resume point, enrolment and completion, in one query."""
    state = LessonState(done=set())
    rows: Any = conn.execute(_LESSON_STATE, {"user_id": user_id, "course_id": course_id})
    for value, kind in rows:
        if kind == 0:
            state.done.add(value)
        elif kind == 1:
            state.last_lesson, state.enrolled = value, True
        else:
            state.completed = True
    return state


def done_lessons(*, session: Session, user_id: int, course_id: str) -> set[str]:
    """Ids of the lessons this learner marked as done in a course."""
    params = {"user_id": user_id, "course_id": course_id}
    return set(session.connection().execute(_DONE_IDS, params).scalars())


def record_visit(*, conn: Connection, user_id: int, course_id: str, lesson_id: str) -> None:
    """Remember the lesson the learner is on (the resume point), enrolling them on first visit.
    Callers that know the current resume point (`lesson_state`) call this only on a change."""
    now = utcnow()
    moved = conn.execute(
        update(Enrollment)
        .where(col(Enrollment.user_id) == user_id, col(Enrollment.course_id) == course_id)
        .values(last_lesson_id=lesson_id, last_seen_at=now)
    )
    if moved.rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                insert(Enrollment).values(
                    user_id=user_id,
                    course_id=course_id,
                    started_at=now,
                    last_lesson_id=lesson_id,
                    last_seen_at=now,
                )
            )
    except IntegrityError:  # the learner's other tab enrolled at the same moment
        pass


def ensure_enrolled(*, conn: Connection, user_id: int, course_id: str) -> None:
    """Enrol the learner (no resume point yet) unless they are: a course may start with an
    activity that is not a lesson (the pre-test)."""
    found = conn.execute(
        select(Enrollment.user_id).where(
            col(Enrollment.user_id) == user_id, col(Enrollment.course_id) == course_id
        )
    ).first()
    if found is not None:
        return
    now = utcnow()
    try:
        with conn.begin_nested():
            conn.execute(
                insert(Enrollment).values(
                    user_id=user_id, course_id=course_id, started_at=now, last_seen_at=now
                )
            )
    except IntegrityError:  # enrolled by another request at the same moment
        pass


# PostgreSQL: a lock on the pair (learner, course) until the transaction ends
_LOCK_LEARNER = text("SELECT pg_advisory_xact_lock(:user_id, hashtext(:course_id))")


def lock_learner(*, session: Session, user_id: int, course_id: str) -> None:
    """Start the workflow's transaction for one learner in one course, holding off any other
    transaction of the same learner and course until it ends: two events at the same moment
    (the last lesson and the last quiz) are then decided one after the other, and neither
    misses the other's write. PostgreSQL: an advisory lock on the pair. SQLite, which has one
    writer: the transaction takes the write lock from its start (BEGIN IMMEDIATE), so what it
    reads is what the others committed."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK_LEARNER, {"user_id": user_id, "course_id": course_id})
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def mark_done(
    *, session: Session, user_id: int, course_id: str, lesson_id: str, version_id: int
) -> bool:
    """Record a lesson as done in the caller's transaction (a repeat is ignored); True if this
    call recorded it."""
    conn = session.connection()
    result = conn.execute(
        insert_for(conn)(LessonProgress.__table__)  # type: ignore[attr-defined]
        .values(
            user_id=user_id,
            course_id=course_id,
            lesson_id=lesson_id,
            content_version_id=version_id,
            completed_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "course_id", "lesson_id"])
    )
    return bool(result.rowcount)


def mark_undone(*, session: Session, user_id: int, course_id: str, lesson_id: str) -> None:
    """Take back a "done" mark in the caller's transaction."""
    session.connection().execute(
        delete(LessonProgress).where(
            col(LessonProgress.user_id) == user_id,
            col(LessonProgress.course_id) == course_id,
            col(LessonProgress.lesson_id) == lesson_id,
        )
    )


def record_completion(
    *,
    session: Session,
    user_id: int,
    course_id: str,
    version_id: int,
    jp: int,
    at: datetime | None = None,
) -> CourseCompletion | None:
    """Record, in the caller's transaction, that a learner completed a course (now, or `at`
    when put back from the issuance log); the completion if this call recorded it, None if it
    was recorded before (a completion happens once)."""
    conn = session.connection()
    completion = CourseCompletion(
        user_id=user_id,
        course_id=course_id,
        content_version_id=version_id,
        jp=jp,
        completed_at=at or utcnow(),
    )
    result = conn.execute(
        insert_for(conn)(CourseCompletion.__table__)  # type: ignore[attr-defined]
        .values(**completion.model_dump())
        .on_conflict_do_nothing(index_elements=["user_id", "course_id"])
    )
    return completion if result.rowcount else None


def completions_of(*, session: Session, user_id: int) -> list[CourseCompletion]:
    """Every course a learner completed."""
    return list(
        session.exec(select(CourseCompletion).where(col(CourseCompletion.user_id) == user_id)).all()
    )


def completion(*, session: Session, user_id: int, course_id: str) -> CourseCompletion | None:
    """The learner's completion of a course, or None."""
    return session.get(CourseCompletion, (user_id, course_id))


@dataclass
class EnrollmentSummary:
    course_id: str
    last_lesson_id: str | None
    last_seen_at: datetime
    done: int
    completed_at: datetime | None
    due_on: date | None = None  # assigned by HR with this due date


def enrollments(*, session: Session, user_id: int) -> list[EnrollmentSummary]:
    """The learner's courses with counts of lessons done: assigned courses not yet completed
    first (soonest due first), then the rest, most recently visited first."""
    done_count = (
        select(LessonProgress.course_id, func.count().label("done"))
        .where(LessonProgress.user_id == user_id)
        .group_by(LessonProgress.course_id)
        .subquery()
    )
    stmt = (
        select(Enrollment, done_count.c.done, CourseCompletion.completed_at)
        .outerjoin(done_count, done_count.c.course_id == Enrollment.course_id)
        .outerjoin(
            CourseCompletion,
            (col(CourseCompletion.user_id) == col(Enrollment.user_id))
            & (col(CourseCompletion.course_id) == col(Enrollment.course_id)),
        )
        .where(Enrollment.user_id == user_id)
        .order_by(col(Enrollment.last_seen_at).desc())
    )
    found = [
        EnrollmentSummary(
            e.course_id, e.last_lesson_id, e.last_seen_at, done or 0, completed, e.due_on
        )
        for e, done, completed in session.exec(stmt).all()
    ]
    due = sorted(
        (s for s in found if s.due_on and not s.completed_at),
        key=lambda s: s.due_on or date.max,
    )
    return due + [s for s in found if s not in due]


def jp_earned(*, session: Session, user_id: int, year: int, zone: tzinfo) -> int:
    """JP credited to a learner by courses completed in a calendar year of the site's zone."""
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    stmt = select(func.coalesce(func.sum(CourseCompletion.jp), 0)).where(
        CourseCompletion.user_id == user_id,
        col(CourseCompletion.completed_at) >= start,
        col(CourseCompletion.completed_at) < end,
    )
    return int(session.exec(stmt).one())


def export_for(*, session: Session, user_id: int) -> dict[str, list[dict[str, object]]]:
    """Everything recorded about one learner's learning, for their own data download."""

    def label(version_id: int) -> str | None:
        return courses_service.version_label(session=session, version_id=version_id)

    enrolled = session.exec(select(Enrollment).where(Enrollment.user_id == user_id)).all()
    done = session.exec(
        select(LessonProgress)
        .where(LessonProgress.user_id == user_id)
        .order_by(col(LessonProgress.completed_at))
    ).all()
    completed = session.exec(
        select(CourseCompletion).where(CourseCompletion.user_id == user_id)
    ).all()
    return {
        "enrollments": [
            {
                "course": e.course_id,
                "started_at": as_utc(e.started_at).isoformat(),
                "last_lesson": e.last_lesson_id,
                "last_seen_at": as_utc(e.last_seen_at).isoformat(),
            }
            for e in enrolled
        ],
        "lessons_done": [
            {
                "course": p.course_id,
                "lesson": p.lesson_id,
                "content_version": label(p.content_version_id),
                "completed_at": as_utc(p.completed_at).isoformat(),
            }
            for p in done
        ],
        "course_completions": [
            {
                "course": c.course_id,
                "jp": c.jp,
                "content_version": label(c.content_version_id),
                "completed_at": as_utc(c.completed_at).isoformat(),
            }
            for c in completed
        ],
        "assignments": [
            {
                "course": e.course_id,
                "due_on": personal_data.plain(e.due_on),
                "assigned_at": personal_data.plain(e.assigned_at),
            }
            for e in enrolled
            if e.assigned_at is not None
        ],
        "learning_events": personal_data.rows_of(
            session, LearningEvent, col(LearningEvent.user_id) == user_id, omit=("user_id",)
        ),
        "due_date_reminders_sent": personal_data.rows_of(
            session, AssignmentReminder, col(AssignmentReminder.user_id) == user_id
        ),
        "assignments_made_as_hr": personal_data.rows_of(
            session, CourseAssignment, col(CourseAssignment.assigned_by) == user_id
        ),
    }


def erase_for(*, session: Session, user_id: int) -> None:
    """An erasure's learning part: enrolments, lessons done, learning events and reminders
    deleted; course completions (the JP record) kept; assignments the person made as HR
    kept (they are the agency's)."""
    for model in (LessonProgress, LearningEvent, AssignmentReminder, Enrollment):
        session.execute(delete(model).where(col(model.user_id) == user_id))


PERSONAL_TABLES = (
    "enrollment",
    "lesson_progress",
    "course_completion",
    "learning_event",
    "assignment_reminder",
    "course_assignment",
)


def events(*, session: Session, user_id: int, course_id: str) -> set[tuple[str, str]]:
    """(kind, subject) of the events a learner reached in a course."""
    rows = session.exec(
        select(LearningEvent.kind, LearningEvent.subject).where(
            LearningEvent.user_id == user_id, LearningEvent.course_id == course_id
        )
    ).all()
    return {(kind, subject) for kind, subject in rows}


def record_event(
    *,
    session: Session,
    user_id: int,
    course_id: str,
    kind: str,
    subject: str,
    version_id: int,
    score: float | None = None,
    at: datetime | None = None,
) -> bool:
    """Record an event once (a repeat is ignored by the database); True if this call recorded
    it. It joins the caller's transaction: the caller commits."""
    conn = session.connection()
    result = conn.execute(
        insert_for(conn)(LearningEvent.__table__)  # type: ignore[attr-defined]
        .values(
            user_id=user_id,
            course_id=course_id,
            kind=kind,
            subject=subject,
            content_version_id=version_id,
            score=score,
            at=at or utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "course_id", "kind", "subject"])
    )
    return bool(result.rowcount)


def due_dates(*, session: Session, user_id: int) -> dict[str, date]:
    """A learner's courses assigned by HR, with their due dates."""
    stmt = sa_select(col(Enrollment.course_id), col(Enrollment.due_on)).where(
        col(Enrollment.user_id) == user_id, col(Enrollment.due_on).is_not(None)
    )
    rows = session.connection().execute(stmt).all()
    return {course: due for course, due in rows if due is not None}


def learners_to_settle(
    *, session: Session, course_id: str, after_user_id: int, limit: int
) -> list[int]:
    """Learners enrolled on a course who have not completed it, by id after `after_user_id`
    (a page of those whose standing a new content version may change)."""
    stmt = (
        select(Enrollment.user_id)
        .where(
            col(Enrollment.course_id) == course_id,
            col(Enrollment.user_id) > after_user_id,
            ~select(CourseCompletion.user_id)
            .where(
                col(CourseCompletion.user_id) == col(Enrollment.user_id),
                col(CourseCompletion.course_id) == course_id,
            )
            .exists(),
        )
        .order_by(col(Enrollment.user_id))
        .limit(limit)
    )
    return list(session.exec(stmt).all())


# ---- due-date reminders ------------------------------------------------------------------------

REMIND_WEEK, REMIND_DAY, REMIND_OVERDUE = "week", "day", "overdue"
OVERDUE_REMINDED_FOR = 30  # days after the due date an overdue reminder may still go out


def reminder_kind(due_on: date, today: date) -> str | None:
    """Which reminder a due date calls for today: a week before (7 to 2 days left), a day
    before (1 or 0 days left), or overdue (up to 30 days after)."""
    left = (due_on - today).days
    if 2 <= left <= 7:
        return REMIND_WEEK
    if 0 <= left <= 1:
        return REMIND_DAY
    if -OVERDUE_REMINDED_FOR <= left < 0:
        return REMIND_OVERDUE
    return None


@dataclass(frozen=True)
class Reminder:
    user_id: int
    course_id: str
    due_on: date
    kind: str


def reminders_due(
    *, session: Session, today: date, recipients: Any, after: tuple[int, str], limit: int
) -> tuple[list[Reminder], tuple[int, str] | None]:
    """Assigned courses not completed whose due date calls for a reminder not sent yet, for
    the people of `recipients` (a query of user ids), in (user, course) order after `after`;
    and where the next page starts (None: this was the last)."""
    done = sa_select(literal(1)).where(
        col(CourseCompletion.user_id) == col(Enrollment.user_id),
        col(CourseCompletion.course_id) == col(Enrollment.course_id),
    )
    stmt = (
        sa_select(col(Enrollment.user_id), col(Enrollment.course_id), col(Enrollment.due_on))
        .where(
            col(Enrollment.assigned_at).is_not(None),
            col(Enrollment.due_on).is_not(None),
            col(Enrollment.due_on) >= today - timedelta(days=OVERDUE_REMINDED_FOR),
            col(Enrollment.due_on) <= today + timedelta(days=7),
            col(Enrollment.user_id).in_(recipients),
            ~done.exists(),
            tuple_(col(Enrollment.user_id), col(Enrollment.course_id)) > tuple_(*after),
        )
        .order_by(col(Enrollment.user_id), col(Enrollment.course_id))
        .limit(limit)
    )
    found = []
    rows: list[Any] = list(session.execute(stmt).all())
    sent = _reminders_sent(session, [(u, c) for u, c, _d in rows])
    for user_id, course_id, due_on in rows:
        assert due_on is not None
        kind = reminder_kind(due_on, today)
        if kind is None or (user_id, course_id, due_on) in sent.get(kind, set()):
            continue
        if kind == REMIND_WEEK and (user_id, course_id, due_on) in sent.get(REMIND_DAY, set()):
            continue
        found.append(Reminder(user_id, course_id, due_on, kind))
    # the last row read, even one that needed no reminder, is where the next page starts
    return found, ((rows[-1][0], rows[-1][1]) if len(rows) == limit else None)


def _reminders_sent(
    session: Session, pairs: list[tuple[int, str]]
) -> dict[str, set[tuple[int, str, date]]]:
    sent: dict[str, set[tuple[int, str, date]]] = {}
    users = sorted({u for u, _c in pairs})
    if not users:
        return sent
    found: list[Any] = list(
        session.execute(
            sa_select(
                col(AssignmentReminder.user_id),
                col(AssignmentReminder.course_id),
                col(AssignmentReminder.due_on),
                col(AssignmentReminder.kind),
            ).where(col(AssignmentReminder.user_id).in_(users))
        ).all()
    )
    for user_id, course_id, due_on, kind in found:
        sent.setdefault(kind, set()).add((user_id, course_id, due_on))
    return sent


def mark_reminded(*, session: Session, reminder: Reminder) -> bool:
    """Record the reminder as sent, in the caller's transaction; False when another worker
    recorded it first (then it must not be mailed again)."""
    stmt = (
        insert_for(session.connection())(AssignmentReminder.__table__)  # type: ignore[attr-defined]
        .values(
            user_id=reminder.user_id,
            course_id=reminder.course_id,
            due_on=reminder.due_on,
            kind=reminder.kind,
            sent_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    return bool(session.connection().execute(stmt).rowcount)
