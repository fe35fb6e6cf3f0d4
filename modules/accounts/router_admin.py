"""For admins: find a person and grant or withdraw roles with their scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import false
from sqlmodel import Session, col, or_, select

from app.auth import Principal, require_roles
from app.db import SessionDep
from app.forms import FormData, RowId, client_address
from app.templating import render
from modules.accounts import grants, service
from modules.accounts.models import User
from modules.agencies import service as agencies_service
from modules.audit import service as audit_service

router = APIRouter()
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def _literal(text: str) -> str:
    """`text` for a LIKE pattern, with the wildcards it contained removed."""
    return text.replace("\\", "").replace("%", "").replace("_", "")


def _person(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404)
    return user


@router.get("/admin/users")
def admin_users(request: Request, session: SessionDep, _admin: Admin, q: str = "") -> Response:
    """Search people by NIP, email or the start of their name (at most 50 shown)."""
    text = " ".join(q.split())[:80]
    people: list[User] = []
    name = _literal(text)
    if text and text.isprintable():
        people = list(
            session.exec(
                select(User)
                .where(
                    or_(
                        col(User.nip).startswith(text.replace(" ", ""), autoescape=True),
                        col(User.email).startswith(text.lower(), autoescape=True),
                        col(User.name).ilike(f"%{name}%") if name else false(),
                    )
                )
                .order_by(col(User.name))
                .limit(50)
            ).all()
        )
    if people:  # names and NIPs shown to an admin: recorded like any view of personal data
        audit_service.record(
            session=session,
            actor_id=_admin.id,
            action="user.search",
            subject_type="user",
            subject_id="*",
            detail={"q": text, "found": len(people)},
            address=client_address(request),
        )
        session.commit()
    agencies = {a.id: a.name for a in agencies_service.list_active(session=session)}
    return render(
        request, "accounts/admin_users.html", {"q": text, "people": people, "agencies": agencies}
    )


def _page(
    request: Request,
    session: Session,
    person: User,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    agencies = {a.id: a for a in agencies_service.list_active(session=session)}
    context = {
        "person": person,
        "agency": agencies.get(person.agency_id),
        "grants": grants.grants_of(session=session, user_id=person.id),  # type: ignore[arg-type]
        "agencies": agencies,
        "groups": agencies_service.grouped(session=session),
        "courses": request.app.state.catalogue.courses(),
        "roles": grants.ROLE_LABELS,
        "events": audit_service.for_subject(
            session=session,
            subject_type="user",
            subject_id=person.nip,
            names=lambda ids: service.names(session=session, user_ids=ids),
        ),
        "error": error,
        "values": values or {},
        "notice": request.query_params.get("done"),
    }
    return render(request, "accounts/admin_user.html", context, status_code=status_code)


@router.get("/admin/users/{user_id}")
def admin_user(request: Request, session: SessionDep, _admin: Admin, user_id: RowId) -> Response:
    """A person's account and roles, with forms to grant and withdraw (the view is audited)."""
    person = _person(session, user_id)
    audit_service.record(
        session=session,
        actor_id=_admin.id,
        action="user.view",
        subject_type="user",
        subject_id=person.nip,
        address=client_address(request),
    )
    session.commit()
    return _page(request, session, person)


@router.post("/admin/users/{user_id}/grants")
def admin_grant(
    request: Request, session: SessionDep, admin: Admin, user_id: RowId, form: FormData
) -> Response:
    """Grant a role with its scope; a grant that does not make sense comes back explained."""
    person = _person(session, user_id)
    agency_text = form.get("agency_id", "")
    agency_id = int(agency_text) if agency_text.isascii() and agency_text.isdigit() else None
    if agency_text and agency_id is None:
        agency_id = -1  # refused below as not in the list
    courses = {c.id for c in request.app.state.catalogue.courses()}
    try:
        grants.grant(
            session=session,
            user=person,
            role=form.get("role", ""),
            agency_id=agency_id,
            work_unit=form.get("work_unit") or None,
            course_id=form.get("course_id") or None,
            actor_id=admin.id,
            address=client_address(request),
            known_agencies={
                a.id for a in agencies_service.list_active(session=session) if a.id is not None
            },
            known_courses=courses,
        )
    except grants.GrantError as exc:
        session.rollback()
        return _page(request, session, person, error=str(exc), values=form, status_code=422)
    return RedirectResponse(f"/admin/users/{person.id}?done=granted", status_code=303)


@router.post("/admin/users/{user_id}/grants/{grant_id}/withdraw")
def admin_withdraw(
    request: Request, session: SessionDep, admin: Admin, user_id: RowId, grant_id: RowId
) -> Response:
    """Withdraw one grant."""
    person = _person(session, user_id)
    try:
        found = grants.withdraw(
            session=session,
            user=person,
            grant_id=grant_id,
            actor_id=admin.id,
            address=client_address(request),
        )
    except grants.GrantError as exc:
        session.rollback()
        return _page(request, session, person, error=str(exc), status_code=422)
    done = "withdrawn" if found else "gone"  # gone: another tab, or Back, got there first
    return RedirectResponse(f"/admin/users/{person.id}?done={done}", status_code=303)
