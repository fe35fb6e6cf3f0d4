"""HR assigns a course to a group of people with a due date: a whole agency, one work unit,
or a list of NIPs (for instance the people of a roster). The group's enrolments are written in
one INSERT … SELECT, so assigning an agency of 50,000 is one statement, not 50,000."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, literal, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from app.clock import utcnow
from app.i18n import N_
from modules.accounts import service as accounts_service
from modules.accounts.service import Scope
from modules.audit import service as audit
from modules.progress.models import CourseAssignment, Enrollment

MAX_NIPS = 5000
MAX_AHEAD = timedelta(days=2 * 366)


class AssignmentError(ValueError):
    """An assignment that cannot be made; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Group:
    """Who a course is assigned to: an agency, optionally one unit, optionally only these
    NIPs."""

    agency_id: int
    unit: str | None = None
    nips: tuple[str, ...] = ()


def parse_nips(text: str) -> tuple[str, ...]:
    """NIPs pasted one per line (or separated by commas, semicolons or spaces)."""
    raw = text.replace(",", " ").replace(";", " ").split()
    nips = tuple(dict.fromkeys(raw))
    if len(nips) > MAX_NIPS:
        raise AssignmentError("nips", N_("Give at most 5,000 NIPs at once."))
    if any(not (n.isdigit() and len(n) == 18) for n in nips):
        raise AssignmentError("nips", N_("Each NIP has 18 digits; check the list."))
    return nips


def check(*, scope: Scope, group: Group, due_on: date | None, today: date) -> None:
    """Refuse a group outside the scope and a due date in the past or too far ahead."""
    if not scope.allows_agency(group.agency_id):
        raise PermissionError(group.agency_id)
    units = {u for a, u in scope.units if a == group.agency_id}
    whole = scope.everything or group.agency_id in scope.agencies
    if not whole and (group.unit is None or group.unit.lower() not in units):
        raise AssignmentError("unit", N_("You may assign only to your own work unit."))
    if due_on is None:
        raise AssignmentError("due_on", N_("Give the due date."))
    if due_on < today:
        raise AssignmentError("due_on", N_("The due date has passed; choose a later one."))
    if due_on > today + MAX_AHEAD:
        raise AssignmentError("due_on", N_("Choose a due date within two years."))


def _member_ids(group: Group) -> list[Any]:
    """Queries of the group's people's ids, one per chunk of listed NIPs."""
    return accounts_service.member_ids(agency_id=group.agency_id, unit=group.unit, nips=group.nips)


def count(*, session: Session, group: Group) -> int:
    """How many people the group holds."""
    conn = session.connection()
    return sum(
        int(conn.execute(select(func.count()).select_from(q.subquery())).scalar_one())
        for q in _member_ids(group)
    )


def assign(
    *,
    session: Session,
    course_id: str,
    group: Group,
    due_on: date,
    actor_id: int,
    address: str,
    roster_upload_id: str | None = None,
) -> CourseAssignment:
    """Enrol the group on the course with the due date (people already enrolled keep their
    progress and get the new due date); records the assignment and audits it. Commits."""
    enrolment = Enrollment.__table__  # type: ignore[attr-defined]
    now = utcnow()
    people = count(session=session, group=group)
    columns = ("course_id", "started_at", "last_seen_at", "assigned_by", "assigned_at", "due_on")
    values = (course_id, now, now, actor_id, now, due_on)
    insert = pg_insert if session.connection().dialect.name == "postgresql" else sqlite_insert
    for members in _member_ids(group):
        people_ids = members.subquery()
        # SQLite reads INSERT ... SELECT ... ON CONFLICT right only with a WHERE in the SELECT
        rows = select(
            people_ids.c.id,
            *(
                literal(v, enrolment.c[name].type).label(name)
                for name, v in zip(columns, values, strict=True)
            ),
        ).where(true())
        statement = insert(enrolment).from_select(["user_id", *columns], rows)
        statement = statement.on_conflict_do_update(
            index_elements=["user_id", "course_id"],
            set_={
                "due_on": statement.excluded.due_on,
                "assigned_by": statement.excluded.assigned_by,
                "assigned_at": statement.excluded.assigned_at,
            },
        )
        session.connection().execute(statement)
    record = CourseAssignment(
        course_id=course_id,
        agency_id=group.agency_id,
        work_unit=group.unit,
        roster_upload_id=roster_upload_id,
        due_on=due_on,
        people=people,
        assigned_by=actor_id,
    )
    session.add(record)
    audit.record(
        session=session,
        actor_id=actor_id,
        action="course.assign",
        subject_type="course",
        subject_id=course_id,
        detail={
            "agency": group.agency_id,
            "unit": group.unit,
            "nips": len(group.nips),
            "roster": roster_upload_id,
            "due_on": due_on.isoformat(),
            "people": people,
        },
        address=address,
    )
    session.commit()
    session.refresh(record)
    return record


def recent(*, session: Session, scope: Scope, limit: int = 20) -> list[CourseAssignment]:
    """The latest assignments to agencies in the scope, newest first."""
    query = sm_select(CourseAssignment).order_by(col(CourseAssignment.id).desc()).limit(limit)
    if not scope.everything:
        agencies = sorted(scope.agencies | {a for a, _u in scope.units})
        query = query.where(col(CourseAssignment.agency_id).in_(agencies))
    return list(session.exec(query).all())
