"""Role grants and their scopes: who may see whose people (HR: agencies, or one work unit of
an agency) and whose quizzes (trainers: courses). Every grant and withdrawal is audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, or_
from sqlmodel import Session, col, select

from app.auth import ROLES
from app.i18n import N_
from modules.accounts.models import RoleGrant, User
from modules.audit import service as audit

ROLE_LABELS = {"trainer": N_("Trainer"), "hr": N_("HR officer"), "admin": N_("Administrator")}


class GrantError(ValueError):
    """A grant that cannot be made; the message is a translatable id."""


@dataclass(frozen=True)
class Scope:
    """Whose people an HR officer (or an admin: everything) may see."""

    everything: bool = False
    agencies: frozenset[int] = frozenset()  # whole agencies
    units: frozenset[tuple[int, str]] = frozenset()  # (agency, work unit in lower case)

    @property
    def empty(self) -> bool:
        return not (self.everything or self.agencies or self.units)

    def allows_agency(self, agency_id: int | None) -> bool:
        """Whether some of this agency's people are in scope."""
        return (
            self.everything
            or agency_id in self.agencies
            or any(a == agency_id for a, _u in self.units)
        )

    def covers(self, agency_id: int, unit: str) -> bool:
        """Whether a person of this agency and work unit is in scope."""
        return (
            self.everything
            or agency_id in self.agencies
            or (agency_id, " ".join(unit.split()).lower()) in self.units
        )

    def narrowed(
        self, agency_id: int | None = None, unit: str | None = None
    ) -> list[tuple[int | None, str | None]]:
        """Whose records a view with these filters could show, as (agency, work unit)
        pairs, None for all (the audit of report views)."""
        unit = " ".join(unit.split()).lower() if unit else None
        if agency_id is None:
            if self.everything:
                return [(None, unit)]
            pairs: list[tuple[int | None, str | None]] = [(a, unit) for a in sorted(self.agencies)]
            return pairs + [(a, u) for a, u in sorted(self.units) if unit in (None, u)]
        if self.everything or agency_id in self.agencies:
            return [(agency_id, unit)]
        return [(a, u) for a, u in sorted(self.units) if a == agency_id and unit in (None, u)]

    def where(self, agency: Any, unit: Any) -> Any:
        """A SQL condition on a person's agency and work unit columns (None: no limit)."""
        if self.everything:
            return None
        parts = []
        if self.agencies:
            parts.append(agency.in_(sorted(self.agencies)))
        parts += [(agency == a) & (func.lower(unit) == u) for a, u in sorted(self.units)]
        return or_(*parts) if parts else false()


def hr_scope(*, session: Session, user_id: int) -> Scope:
    """The people this user may see as HR: everyone for an admin; else the agencies and units
    of their HR grants (an HR grant without an agency gives nothing: scope is never assumed)."""
    rows = session.exec(
        select(RoleGrant.role, RoleGrant.agency_id, RoleGrant.work_unit).where(
            col(RoleGrant.user_id) == user_id
        )
    ).all()
    if any(role == "admin" for role, _a, _u in rows):
        return Scope(everything=True)
    agencies = {a for role, a, unit in rows if role == "hr" and a is not None and not unit}
    units = {
        (a, unit.strip().lower())
        for role, a, unit in rows
        if role == "hr" and a is not None and unit and a not in agencies
    }
    return Scope(agencies=frozenset(agencies), units=frozenset(units))


def trainer_courses(*, session: Session, user_id: int) -> set[str] | None:
    """Courses this user trains (their quizzes' statistics): None means every course (an
    admin, or a trainer grant without a course); an empty set means none."""
    rows = session.exec(
        select(RoleGrant.role, RoleGrant.course_id).where(col(RoleGrant.user_id) == user_id)
    ).all()
    if any(role == "admin" or (role == "trainer" and course is None) for role, course in rows):
        return None
    return {course for role, course in rows if role == "trainer" and course is not None}


def grant(
    *,
    session: Session,
    user: User,
    role: str,
    agency_id: int | None = None,
    work_unit: str | None = None,
    course_id: str | None = None,
    actor_id: int | None = None,
    address: str = "",
    known_agencies: set[int] | None = None,
    known_courses: set[str] | None = None,
) -> RoleGrant:
    """Grant a role with its scope (a repeat returns the existing grant). Commits, with an
    audit event. `known_*` are the valid choices, when the caller has them at hand."""
    given_unit = work_unit
    work_unit = " ".join((work_unit or "").split()) or None
    if given_unit is not None and work_unit is None:  # only spaces: never "the whole agency"
        raise GrantError(N_("Give the work unit as it appears in the people's profiles."))
    if role not in ROLES:
        raise GrantError(N_("Choose a role from the list."))
    if role == "hr" and agency_id is None:
        raise GrantError(N_("An HR grant needs the agency whose people it covers."))
    if role != "hr" and (agency_id is not None or work_unit):
        raise GrantError(N_("Only HR grants have an agency or work unit."))
    if role != "trainer" and course_id:
        raise GrantError(N_("Only trainer grants have a course."))
    if known_agencies is not None and agency_id is not None and agency_id not in known_agencies:
        raise GrantError(N_("Choose an agency from the list."))
    if known_courses is not None and course_id and course_id not in known_courses:
        raise GrantError(N_("Choose a course from the list."))
    if work_unit and (len(work_unit) > 200 or not work_unit.isprintable()):
        raise GrantError(N_("Give the work unit as it appears in the people's profiles."))
    existing = session.exec(
        select(RoleGrant).where(
            col(RoleGrant.user_id) == user.id,
            col(RoleGrant.role) == role,
            col(RoleGrant.agency_id) == agency_id
            if agency_id is not None
            else col(RoleGrant.agency_id).is_(None),
            col(RoleGrant.work_unit) == work_unit
            if work_unit
            else col(RoleGrant.work_unit).is_(None),
            col(RoleGrant.course_id) == course_id
            if course_id
            else col(RoleGrant.course_id).is_(None),
        )
    ).first()
    if existing is not None:
        return existing
    row = RoleGrant(
        user_id=user.id,  # type: ignore[arg-type]
        role=role,
        agency_id=agency_id,
        work_unit=work_unit,
        course_id=course_id or None,
        granted_by=actor_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor_id=actor_id,
        action="role.grant",
        subject_type="user",
        subject_id=user.nip,
        detail={"role": role, "agency": agency_id, "unit": work_unit, "course": course_id},
        address=address,
    )
    session.commit()
    session.refresh(row)
    return row


def withdraw(
    *, session: Session, user: User, grant_id: int, actor_id: int | None, address: str
) -> bool:
    """Withdraw one of a user's grants; False if there was no such grant. An admin cannot
    withdraw their own admin grant (someone must be left to grant it back)."""
    row = session.get(RoleGrant, grant_id)
    if row is None or row.user_id != user.id:
        return False
    if row.role == "admin" and actor_id == user.id:
        raise GrantError(N_("You cannot withdraw your own administrator role."))
    audit.record(
        session=session,
        actor_id=actor_id,
        action="role.withdraw",
        subject_type="user",
        subject_id=user.nip,
        detail={
            "role": row.role,
            "agency": row.agency_id,
            "unit": row.work_unit,
            "course": row.course_id,
        },
        address=address,
    )
    session.delete(row)
    session.commit()
    return True


def grants_of(*, session: Session, user_id: int) -> list[RoleGrant]:
    """A user's grants, oldest first."""
    return list(
        session.exec(
            select(RoleGrant).where(col(RoleGrant.user_id) == user_id).order_by(col(RoleGrant.id))
        ).all()
    )
