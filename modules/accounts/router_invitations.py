"""For HR and admins: who of their people has claimed an account, invitations to those who
have not (a roster, a unit or chosen people), and mail that could not be delivered."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.db import SessionDep
from app.forms import RawForm, client_address
from app.i18n import N_
from app.templating import render
from modules.accounts import invitations, service
from modules.accounts.dependencies import HrOrAdmin, OwnRosterUpload
from modules.accounts.nip import normalise
from modules.agencies import service as agencies_service

router = APIRouter()
LISTED = 200
STATE_LABELS = {
    "claimed": N_("Has access"),
    "invited": N_("Invited, not claimed yet"),
    "not_invited": N_("Not invited yet"),
    "no_email": N_("No email in the roster"),
}


def _agency(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


@router.get("/manage/invitations")
def invitations_page(
    request: Request,
    session: SessionDep,
    staff: HrOrAdmin,
    agency: str = "",
    unit: str = "",
    state: str = "not_invited",
    sent: str = "",
) -> Response:
    """Who of the people in view has claimed an account, who was invited, and failed mail."""
    return _page(request, session, staff, agency, unit, state, sent)


def _page(
    request: Request,
    session: SessionDep,
    staff: HrOrAdmin,
    agency: str,
    unit: str,
    state: str,
    sent: str,
    status_code: int = 200,
) -> Response:
    scope = staff.scope
    agencies = [
        a for a in agencies_service.list_active(session=session) if scope.allows_agency(a.id)
    ]
    agency_id = _agency(agency)
    if agency_id is not None and not scope.allows_agency(agency_id):
        agency_id = None
    unit = " ".join(unit.split())[:200]
    state = state if state in invitations.STATES else "not_invited"
    counts, people = invitations.overview(
        session=session, scope=scope, agency_id=agency_id, unit=unit, state=state, limit=LISTED
    )
    return render(
        request,
        "accounts/invitations.html",
        {
            "agencies": agencies,
            "agency_id": agency_id,
            "unit": unit,
            "state": state,
            "counts": counts,
            "people": people,
            "listed": LISTED,
            "labels": STATE_LABELS,
            "failed": invitations.failed_mail(session=session, scope=scope),
            "sent": sent,
        },
        status_code=status_code,
    )


def _start(
    request: Request, session: SessionDep, staff: HrOrAdmin, selection: invitations.Selection
) -> bool:
    return invitations.start(
        session=session,
        officer_id=staff.user.id,
        selection=selection,
        address=client_address(request),
    )


@router.post("/manage/invitations")
def invitations_send(
    request: Request, session: SessionDep, staff: HrOrAdmin, form: RawForm
) -> Response:
    """Invite the people ticked, or everyone unclaimed of the agency (and unit) in view. The
    worker composes the mails; people already claimed, invited in the last hour or without an
    email are skipped."""
    agency_id = _agency(str(form.get("agency_id") or ""))
    unit = " ".join(str(form.get("unit") or "").split())[:200]
    nips = tuple(dict.fromkeys(normalise(str(v)) for v in form.getlist("nip") if str(v).strip()))[
        :LISTED
    ]
    if agency_id is not None and not staff.scope.allows_agency(agency_id):
        agency_id = None
    chosen = form.get("scope") == "chosen"
    if form.get("scope") not in ("all", "chosen") or (chosen and not nips):
        return _page(request, session, staff, str(agency_id or ""), unit, "", "none", 422)
    selection = invitations.Selection(agency_id=agency_id, unit=unit, nips=nips if chosen else ())
    started = _start(request, session, staff, selection)
    query = urlencode(
        {
            "agency": agency_id or "",
            "unit": unit,
            "state": "invited",
            "sent": "yes" if started else "limited",
        }
    )
    return RedirectResponse(f"/manage/invitations?{query}", status_code=303)


@router.post("/manage/roster/{upload_id}/invite")
def roster_invite(
    request: Request, session: SessionDep, staff: HrOrAdmin, upload: OwnRosterUpload, _f: RawForm
) -> Response:
    """Invite the people of an applied roster file who have not claimed their account."""
    if upload.applied_at is None:
        return RedirectResponse(f"/manage/roster/{upload.id}", status_code=303)
    nips = service.roster_nips(upload)
    started = _start(request, session, staff, invitations.Selection(nips=nips))
    return RedirectResponse(
        f"/manage/invitations?state=invited&sent={'yes' if started else 'limited'}",
        status_code=303,
    )
