"""Pages: a person asks for their account to be erased (and may withdraw while it waits);
an administrator or HR of their agency approves or refuses; the worker carries it out
(modules/accounts/erasure.py, docs/privacy.md). And HR decides the moves of people their
roster lists (modules/accounts/moves.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import security
from app.auth import CurrentUser
from app.db import SessionDep
from app.forms import FormData, RowId, client_address
from app.i18n import N_
from app.templating import render
from modules.accounts import erasure, moves, service
from modules.accounts.decisions import DecisionError
from modules.accounts.dependencies import HrOrAdmin
from modules.accounts.schemas import FormError
from modules.agencies import service as agencies_service

router = APIRouter()


def _mine(
    request: Request,
    session: SessionDep,
    user_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "current": erasure.latest(session=session, user_id=user_id),
        "labels": erasure.STATUS_LABELS,
        "keep_years": request.app.state.settings.erasure_keep_years,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "accounts/erase.html", context, status_code=status_code)


@router.get("/me/erase")
def erase_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """What an erasure deletes and keeps, the form to ask for it, and where a request
    stands."""
    return _mine(request, session, user.id)


@router.post("/me/erase")
def erase_request(
    request: Request, session: SessionDep, user: CurrentUser, form: FormData
) -> Response:
    record = service.get(session=session, user_id=user.id)
    values = {"reason": form.get("reason", "")[:1000]}
    try:
        if not security.verify_password(form.get("password", ""), record.password_hash):
            raise FormError({"password": N_("Your current password is not correct.")})
        erasure.request(
            session=session,
            settings=request.app.state.settings,
            user=record,
            reason=form.get("reason", ""),
            confirmed=form.get("confirm") == "yes",
            address=client_address(request),
        )
    except FormError as exc:
        session.rollback()
        return _mine(request, session, user.id, exc.errors, values, status_code=422)
    return RedirectResponse("/me/erase", status_code=303)


@router.post("/me/erase/withdraw")
def erase_withdraw(
    request: Request, session: SessionDep, user: CurrentUser, _f: FormData
) -> Response:
    record = service.get(session=session, user_id=user.id)
    erasure.withdraw(session=session, user=record, address=client_address(request))
    return RedirectResponse("/me/erase", status_code=303)


# ---- HR and administrators: requests they approve or refuse -----------------------------------

# each kind of request: its list (of what the officer may decide) and its decision
KINDS: dict[str, tuple[str, Any, Any]] = {
    "erasures": ("accounts/erasures.html", erasure.listing, erasure.decide),
    "moves": ("accounts/moves.html", moves.listing, moves.decide),
}


def _list(
    request: Request,
    session: SessionDep,
    staff: HrOrAdmin,
    kind: str,
    problem: str = "",
    status: int = 200,
) -> Response:
    template, listing, _decide = KINDS[kind]
    rows = listing(session=session, scope=staff.scope)
    agencies = {a.id: a.name for a in agencies_service.list_active(session=session)}
    context = {"rows": rows, "agencies": agencies, "problem": problem}
    return render(request, template, context, status_code=status)


def _decision(
    request: Request,
    session: SessionDep,
    staff: HrOrAdmin,
    kind: str,
    request_id: int,
    form: dict[str, str],
) -> Response:
    """Approve or refuse one request of this kind (404 if the officer may not decide it)."""
    decision = form.get("decision", "")
    if decision not in ("approve", "refuse"):
        return _list(request, session, staff, kind, N_("Choose to approve or refuse."), 422)
    try:
        KINDS[kind][2](
            session=session,
            settings=request.app.state.settings,
            scope=staff.scope,
            officer_id=staff.user.id,
            request_id=request_id,
            approve=decision == "approve",
            note=form.get("note", ""),
            address=client_address(request),
        )
    except LookupError:
        session.rollback()
        raise HTTPException(404) from None
    except DecisionError as exc:
        session.rollback()
        return _list(request, session, staff, kind, str(exc), 409)
    return RedirectResponse(f"/manage/{kind}?decided=1", status_code=303)


@router.get("/manage/erasures")
def erasures_page(request: Request, session: SessionDep, staff: HrOrAdmin) -> Response:
    """Requests to erase an account that this officer may decide."""
    return _list(request, session, staff, "erasures")


@router.post("/manage/erasures/{request_id}")
def erasure_decide(
    request: Request, session: SessionDep, staff: HrOrAdmin, request_id: RowId, form: FormData
) -> Response:
    return _decision(request, session, staff, "erasures", request_id, form)


@router.get("/manage/moves")
def moves_page(request: Request, session: SessionDep, staff: HrOrAdmin) -> Response:
    """Moves of people the officer's rosters list, waiting for a decision."""
    return _list(request, session, staff, "moves")


@router.post("/manage/moves/{request_id}")
def move_decide(
    request: Request, session: SessionDep, staff: HrOrAdmin, request_id: RowId, form: FormData
) -> Response:
    return _decision(request, session, staff, "moves", request_id, form)
