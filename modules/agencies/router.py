"""For admins: the agency list, one agency's form (edit or add), and CSV import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import case
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile

from app.auth import Principal, require_roles
from app.db import SessionDep
from app.forms import FormData, RawForm, RowId, client_address
from app.templating import render
from modules.agencies import editing
from modules.agencies.models import Agency
from modules.agencies.service import KIND_LABELS, KINDS

router = APIRouter()
Admin = Annotated[Principal, Depends(require_roles("admin"))]


@router.get("/admin/agencies")
def agency_list(request: Request, session: SessionDep, _admin: Admin, q: str = "") -> Response:
    """Every agency (active or not), searchable by code or name."""
    text = " ".join(q.split())[:80] if q.isprintable() else ""
    # ministries and institutions first, as in the pickers
    kind_order = case({k: i for i, k in enumerate(KINDS)}, value=col(Agency.kind), else_=99)
    stmt = select(Agency).order_by(kind_order, col(Agency.name))
    if text:
        pattern = "%" + text.replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(col(Agency.name).ilike(pattern) | col(Agency.code).ilike(pattern))
    rows = session.exec(stmt.limit(200)).all()
    return render(request, "agencies/list.html", {"rows": rows, "q": text, "kinds": KIND_LABELS})


def _form(
    request: Request,
    agency: Agency | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "agency": agency,
        "values": values,
        "errors": errors or {},
        "kinds": [(k, KIND_LABELS[k]) for k in KINDS],
        "saved": request.query_params.get("saved"),
    }
    return render(request, "agencies/form.html", context, status_code=status_code)


def _codes(session: Session) -> set[str]:
    return set(session.exec(select(Agency.code)).all())


@router.get("/admin/agencies/new")
def agency_new(request: Request, _admin: Admin) -> Response:
    return _form(request, None, {"active": "1"})


@router.post("/admin/agencies/new")
def agency_create(request: Request, session: SessionDep, admin: Admin, form: FormData) -> Response:
    data, errors = editing.check(form, _codes(session))
    if data is None:
        return _form(request, None, form, errors, 422)
    try:
        agency = editing.save(
            session=session,
            agency=None,
            data=data,
            actor_id=admin.id,
            address=client_address(request),
        )
    except ValueError as exc:
        return _form(request, None, form, {"code": str(exc)}, 422)
    return RedirectResponse(f"/admin/agencies/{agency.id}?saved=1", status_code=303)


def _agency(session: Session, agency_id: int) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise HTTPException(404)
    return agency


@router.get("/admin/agencies/import")
def agency_import_form(request: Request, _admin: Admin) -> Response:
    return render(request, "agencies/import.html", {"report": None})


@router.post("/admin/agencies/import")
async def agency_import(
    request: Request, session: SessionDep, admin: Admin, form: RawForm
) -> Response:
    """Dry run of an uploaded CSV; the confirmation carries the checked text back (a hidden
    field) with apply=1, so what is applied is exactly what was shown."""
    upload = form.get("file")
    carried = form.get("csv_text")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(editing.MAX_BYTES + 1)
    else:
        raw = carried.encode() if isinstance(carried, str) else b""
    apply = form.get("apply") == "1"
    report = editing.import_csv(
        session=session, raw=raw, apply=apply, actor_id=admin.id, address=client_address(request)
    )
    status = 422 if report.problem or not raw else 200
    try:
        text = raw.decode("utf-8-sig") if not report.problem else ""
    except UnicodeDecodeError:
        text = ""
    return render(
        request,
        "agencies/import.html",
        {"report": report, "applied": apply, "empty": not raw, "text": text},
        status_code=status,
    )


@router.get("/admin/agencies/{agency_id}")
def agency_edit(request: Request, session: SessionDep, _admin: Admin, agency_id: RowId) -> Response:
    agency = _agency(session, agency_id)
    values = {
        "code": agency.code,
        "name": agency.name,
        "kind": agency.kind,
        "parent_code": agency.parent_code or "",
        "active": "1" if agency.active else "0",
    }
    return _form(request, agency, values)


@router.post("/admin/agencies/{agency_id}")
def agency_save(
    request: Request, session: SessionDep, admin: Admin, agency_id: RowId, form: FormData
) -> Response:
    agency = _agency(session, agency_id)
    values = {**form, "code": agency.code}  # the code identifies it: not editable
    data, errors = editing.check(values, _codes(session))
    if data is None:
        return _form(request, agency, values, errors, 422)
    editing.save(
        session=session,
        agency=agency,
        data=data,
        actor_id=admin.id,
        address=client_address(request),
    )
    return RedirectResponse(f"/admin/agencies/{agency.id}?saved=1", status_code=303)
