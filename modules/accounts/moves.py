"""A person moving themselves to another agency or work unit (docs/privacy.md, "Moving"). Not
on any roster: the move is made at once and audited. On an agency's roster: it waits for HR of
that agency (whose scope covers the roster's agency and unit) or an administrator; reports
keep the person where they were until it is approved. Approved, the move is made and audited
with who approved it, and the old roster's listing is dropped (the new agency's roster may list
them); refused, with a reason the person is mailed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app import mail
from app.clock import utcnow
from app.i18n import N_
from modules.accounts import decisions
from modules.accounts.grants import Scope
from modules.accounts.models import MoveRequest, RosterEntry, User
from modules.audit import service as audit

REQUESTED, APPROVED, REFUSED, WITHDRAWN = "requested", "approved", "refused", "withdrawn"
STATUS_LABELS = {
    REQUESTED: N_("waiting for HR's approval"),
    APPROVED: N_("approved"),
    REFUSED: N_("refused"),
    WITHDRAWN: N_("withdrawn"),
}


def roster_of(*, session: Session, nip: str) -> RosterEntry | None:
    """The roster listing that holds the person, if any."""
    return session.get(RosterEntry, nip)


def pending(*, session: Session, user_id: int) -> MoveRequest | None:
    return session.exec(
        select(MoveRequest).where(
            col(MoveRequest.user_id) == user_id, col(MoveRequest.status) == REQUESTED
        )
    ).first()


def ask(
    *, session: Session, user: User, entry: RosterEntry, agency_id: int, unit: str, address: str
) -> MoveRequest:
    """Record the person's request (a newer one replaces one still waiting), in the caller's
    transaction."""
    earlier = pending(session=session, user_id=user.id or 0)
    if earlier is not None:
        earlier.status, earlier.decided_at = WITHDRAWN, utcnow()
        session.add(earlier)
    move = MoveRequest(
        user_id=user.id or 0,
        status=REQUESTED,
        from_agency_id=user.agency_id,
        from_unit=user.work_unit,
        to_agency_id=agency_id,
        to_unit=unit,
        roster_agency_id=entry.agency_id,
        roster_unit=entry.work_unit,
    )
    session.add(move)
    session.flush()
    audit.record(
        session=session,
        actor_id=user.id,
        action="account.move_request",
        subject_type="user",
        subject_id=user.nip,
        detail={
            "request": move.id,
            "from": {"agency_id": user.agency_id, "work_unit": user.work_unit},
            "to": {"agency_id": agency_id, "work_unit": unit},
        },
        address=address,
    )
    return move


def withdraw(*, session: Session, user_id: int) -> bool:
    move = pending(session=session, user_id=user_id)
    if move is None:
        return False
    try:
        decisions.settle(session, MoveRequest, move.id or 0, status=WITHDRAWN, decided_at=utcnow())
    except decisions.DecisionError:
        return False  # decided meanwhile
    session.commit()
    return True


def listing(*, session: Session, scope: Scope) -> list[Any]:
    """Requests waiting that this officer may decide, with their person."""
    stmt = (
        select(MoveRequest, User)
        .join(User, col(User.id) == col(MoveRequest.user_id))
        .where(col(MoveRequest.status) == REQUESTED)
        .order_by(col(MoveRequest.id))
    )
    limit = scope.where(col(MoveRequest.roster_agency_id), col(MoveRequest.roster_unit))
    if limit is not None:
        stmt = stmt.where(limit)
    return list(session.exec(stmt.limit(500)).all())


def decide(
    *,
    session: Session,
    settings: Any,
    scope: Scope,
    officer_id: int,
    request_id: int,
    approve: bool,
    note: str,
    address: str,
) -> MoveRequest:
    """Approve (the move is made) or refuse (with a reason the person is mailed)."""
    move = session.get(MoveRequest, request_id)
    if move is None or not scope.covers(move.roster_agency_id, move.roster_unit):
        raise LookupError(request_id)
    note = decisions.checked_note(approve=approve, note=note, still_open=move.status == REQUESTED)
    person = session.get(User, move.user_id)
    assert person is not None
    decisions.not_ones_own(officer_id, person.id)
    if approve and (person.agency_id, person.work_unit) != (move.from_agency_id, move.from_unit):
        raise decisions.DecisionError(
            N_("The person has moved since they asked; this request no longer applies.")
        )
    decisions.settle(
        session,
        MoveRequest,
        request_id,
        status=APPROVED if approve else REFUSED,
        decided_by=officer_id,
        decided_at=utcnow(),
        note=note,
    )
    session.refresh(move)
    if approve:
        before = {"agency_id": person.agency_id, "work_unit": person.work_unit}
        person.agency_id, person.work_unit = move.to_agency_id, move.to_unit
        session.add(person)
        # the old roster no longer holds them; the new agency's roster may list them
        session.execute(delete(RosterEntry).where(col(RosterEntry.nip) == person.nip))
        audit.record(
            session=session,
            actor_id=officer_id,
            action="account.move",
            subject_type="user",
            subject_id=person.nip,
            detail={
                "from": before,
                "to": {"agency_id": move.to_agency_id, "work_unit": move.to_unit},
                "request": move.id,
            },
            address=address,
        )
    else:
        audit.record(
            session=session,
            actor_id=officer_id,
            action="account.move_refuse",
            subject_type="user",
            subject_id=person.nip,
            detail={"request": move.id},
            address=address,
        )
    if person.email:
        mail.queue(
            session,
            settings,
            to=person.email,
            name=person.name,
            locale=person.locale or settings.default_locale,
            template="move_decision",
            context={"name": person.name, "approved": approve, "note": note},
            purpose="move",
            user_id=person.id,
        )
    session.commit()
    return move
