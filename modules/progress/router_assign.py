"""HR assigns courses with a due date to an agency, a work unit or a list of NIPs."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app import clock
from app.db import SessionDep
from app.forms import FormData, client_address
from app.i18n import N_
from app.templating import render
from modules.accounts import service as accounts_service
from modules.accounts.dependencies import HrOrAdmin, StaffScope
from modules.agencies import service as agencies_service
from modules.progress import assignments

router = APIRouter()


def _page(
    request: Request,
    session: Session,
    manager: StaffScope,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    agencies = [
        a
        for a in agencies_service.list_active(session=session)
        if manager.scope.allows_agency(a.id)
    ]
    done = request.query_params.get("done", "")
    context: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "courses": request.app.state.catalogue.courses(),
        "agencies": agencies,
        "names": {a.id: a.name for a in agencies},
        "recent": assignments.recent(session=session, scope=manager.scope),
        "done": int(done) if done.isdigit() and len(done) < 10 else None,
        "units": sorted({u for _a, u in manager.scope.units}),
        "roster": _roster(session, manager, values.get("roster", "")),
    }
    return render(request, "progress/assign.html", context, status_code=status_code)


def _roster(session: Session, manager: StaffScope, upload_id: str) -> Any:
    """An applied roster upload of this officer (an admin: anyone's), or None."""
    return accounts_service.applied_roster(
        session=session,
        upload_id=upload_id,
        user_id=manager.user.id,
        admin=manager.scope.everything,
    )


@router.get("/manage/assignments")
def assign_page(request: Request, session: SessionDep, manager: HrOrAdmin) -> Response:
    """The assignment form and the latest assignments in the manager's scope."""
    values = {
        "course": request.query_params.get("course", ""),
        "roster": request.query_params.get("roster", "")[:32],
    }
    agencies = manager.scope.agencies | {a for a, _u in manager.scope.units}
    if len(agencies) == 1:
        values["agency"] = str(next(iter(agencies)))
    return _page(request, session, manager, values, {})


@router.post("/manage/assignments")
def assign(request: Request, session: SessionDep, manager: HrOrAdmin, form: FormData) -> Response:
    """Assign the course; mistakes come back next to their field."""
    fields = ("course", "agency", "unit", "nips", "due_on", "roster")
    values = {k: form.get(k, "") for k in fields}
    errors: dict[str, str] = {}
    course_ids = [c.id for c in request.app.state.catalogue.courses()]
    if values["course"] not in course_ids:
        errors["course"] = N_("Choose a course from the list.")
    agency_text = values["agency"].strip()
    if not (agency_text.isdigit() and len(agency_text) < 10):
        errors["agency"] = N_("Choose an agency from the list.")
    try:
        due_on = date.fromisoformat(values["due_on"].strip()) if values["due_on"] else None
    except ValueError:
        errors["due_on"] = N_("Give a date such as 2026-06-30.")
        due_on = None
    unit = " ".join(values["unit"].split()) or None
    if unit and (len(unit) > 200 or not unit.isprintable()):
        errors["unit"] = N_("Give the work unit as it appears in the people's profiles.")
    nips: tuple[str, ...] = ()
    try:
        nips = assignments.parse_nips(values["nips"])
    except assignments.AssignmentError as exc:
        errors[exc.field] = str(exc)
    upload = _roster(session, manager, values["roster"])
    if values["roster"] and upload is None:
        errors["roster"] = N_("That roster is gone (kept for a day) or was not applied.")
    elif upload is not None:
        nips = accounts_service.roster_nips(upload)
    offered = request.app.state.catalogue.get(values["course"])
    if not errors and offered is not None and not offered.offered(int(agency_text)):
        errors["course"] = N_("This course is not offered to that agency.")
    if errors:
        return _page(request, session, manager, values, errors, 422)
    group = assignments.Group(int(agency_text), unit, nips)
    today = clock.today(request.app.state.settings.tz)
    try:
        assignments.check(scope=manager.scope, group=group, due_on=due_on, today=today)
    except PermissionError:
        raise HTTPException(403) from None
    except assignments.AssignmentError as exc:
        return _page(request, session, manager, values, {exc.field: str(exc)}, 422)
    if assignments.count(session=session, group=group) == 0:
        error = {"unit" if unit else "nips" if nips else "agency": N_("Nobody is in this group.")}
        return _page(request, session, manager, values, error, 422)
    record = assignments.assign(
        session=session,
        course_id=values["course"],
        group=group,
        due_on=due_on,  # type: ignore[arg-type]
        actor_id=manager.user.id,
        address=client_address(request),
        roster_upload_id=upload.id if upload is not None else None,
    )
    return RedirectResponse(f"/manage/assignments?done={record.id}", status_code=303)
