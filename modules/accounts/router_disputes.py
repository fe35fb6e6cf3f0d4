"""Pages: a person reports that the NIP of another account is theirs (no login: their NIP is
taken), confirms it from their mail; HR of the roster's agency (or an administrator) decides."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import clock
from app.db import SessionDep
from app.forms import FormData, RowId, client_address
from app.templating import render, request_locale
from modules.accounts import disputes, service
from modules.accounts.dependencies import HrOrAdmin
from modules.accounts.schemas import FormError
from modules.agencies import service as agencies_service

router = APIRouter()


@router.get("/nip-dispute")
def dispute_form(request: Request, nip: str = "") -> Response:
    values = {"nip": nip[:40]}
    return render(request, "accounts/dispute_new.html", {"values": values, "errors": {}})


@router.post("/nip-dispute")
def dispute_file(request: Request, session: SessionDep, form: FormData) -> Response:
    settings = request.app.state.settings
    address = client_address(request)

    def reset(email: str) -> None:
        service.request_reset(session=session, settings=settings, identifier=email, address=address)

    try:
        disputes.file(
            session=session,
            settings=settings,
            form=form,
            locale=request_locale(request),
            address=address,
            today=clock.today(settings.tz),
            reset=reset,
        )
    except FormError as exc:
        values = {k: form.get(k, "") for k in ("nip", "name", "email", "statement")}
        status = 429 if "form" in exc.errors else 422
        return render(
            request,
            "accounts/dispute_new.html",
            {"values": values, "errors": exc.errors},
            status_code=status,
        )
    return render(request, "accounts/dispute_new.html", {"filed": True, "values": {}, "errors": {}})


@router.get("/nip-dispute/confirm/{token}")
def dispute_confirm_page(request: Request, session: SessionDep, token: str) -> Response:
    """Asks to open the dispute (looking does not: mail scanners open links)."""
    dispute = disputes.pending_by_token(session=session, token=token)
    if dispute is None:
        return render(
            request, "accounts/link_invalid.html", {"retry": "/nip-dispute"}, status_code=410
        )
    return render(request, "accounts/dispute_confirm.html", {"token": token, "dispute": dispute})


@router.post("/nip-dispute/confirm/{token}")
def dispute_confirm(request: Request, session: SessionDep, token: str, _f: FormData) -> Response:
    dispute = disputes.confirm(
        session=session,
        settings=request.app.state.settings,
        token=token,
        address=client_address(request),
    )
    if dispute is None:
        return render(
            request, "accounts/link_invalid.html", {"retry": "/nip-dispute"}, status_code=410
        )
    return render(request, "accounts/dispute_confirm.html", {"opened": True, "dispute": dispute})


# ---- HR and administrators -------------------------------------------------------------------


@router.get("/manage/disputes")
def disputes_page(
    request: Request, session: SessionDep, staff: HrOrAdmin, closed: str = ""
) -> Response:
    """The NIP disputes this officer resolves."""
    rows = disputes.listed(session=session, scope=staff.scope, include_closed=bool(closed))
    holders = service.names(session=session, user_ids=[d.holder_id for d in rows])
    return render(
        request,
        "accounts/disputes.html",
        {
            "disputes": rows,
            "holders": holders,
            "closed": bool(closed),
            "labels": disputes.STATUS_LABELS,
        },
    )


def _dispute(session: SessionDep, staff: HrOrAdmin, dispute_id: int) -> disputes.NipDispute:
    if not 0 < dispute_id < 2**31:
        raise HTTPException(404)
    found = disputes.get(session=session, scope=staff.scope, dispute_id=dispute_id)
    if found is None:
        raise HTTPException(404)
    return found


def _detail(
    request: Request,
    session: SessionDep,
    dispute: disputes.NipDispute,
    errors: dict[str, str] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> Response:
    holder = service.get(session=session, user_id=dispute.holder_id)
    agency = agencies_service.get(session=session, agency_id=holder.agency_id)
    return render(
        request,
        "accounts/dispute.html",
        {
            "dispute": dispute,
            "holder": holder,
            "agency": agency.name if agency else "",
            "labels": disputes.STATUS_LABELS,
            "errors": errors or {},
            "problem": problem,
        },
        status_code=status_code,
    )


@router.get("/manage/disputes/{dispute_id}")
def dispute_page(
    request: Request, session: SessionDep, staff: HrOrAdmin, dispute_id: RowId
) -> Response:
    return _detail(request, session, _dispute(session, staff, dispute_id))


@router.post("/manage/disputes/{dispute_id}")
def dispute_resolve(
    request: Request, session: SessionDep, staff: HrOrAdmin, dispute_id: RowId, form: FormData
) -> Response:
    dispute = _dispute(session, staff, dispute_id)
    try:
        disputes.resolve(
            session=session,
            settings=request.app.state.settings,
            dispute=dispute,
            outcome=form.get("outcome", ""),
            note=form.get("note", ""),
            officer_id=staff.user.id,
            officer_email=staff.user.email,
            address=client_address(request),
        )
    except FormError as exc:
        session.rollback()
        return _detail(request, session, dispute, errors=exc.errors, status_code=422)
    except disputes.DisputeError as exc:
        session.rollback()
        return _detail(request, session, dispute, problem=str(exc), status_code=409)
    return RedirectResponse(f"/manage/disputes/{dispute_id}", status_code=303)
