"""For HR and admins: upload a roster (CSV or XLSX), read its dry run, confirm it, and download
the per-row report. Only the uploader (or an admin) sees an upload."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from app import clock, i18n, spreadsheet
from app.db import SessionDep, write_lock
from app.forms import RawForm, client_address
from app.i18n import N_
from app.templating import render, request_locale
from modules.accounts import roster, roster_file, roster_uploads
from modules.accounts.dependencies import HrOrAdmin, OwnRosterUpload, StaffScope
from modules.accounts.models import RosterUpload

router = APIRouter()
LISTED = 200  # rows listed on the page; the CSV report has them all
EXAMPLE = (
    "nip;nama;email;instansi;unit_kerja;jabatan;golongan;jenis_pegawai\n"
    "199001012015031001;Siti Rahmawati;siti@bandung.go.id;K3273;"
    "Bidang Pelayanan;Analis SDM Aparatur Ahli Pertama;III/a;PNS\n"
    "199505052023212001;Budi Santoso;budi@bandung.go.id;K3273;"
    "Bidang Pelayanan;Pengelola Layanan Operasional;VII;PPPK\n"
)


def _today(request: Request) -> date:
    return clock.today(request.app.state.settings.tz)


def _form(
    request: Request,
    session: SessionDep,
    staff: StaffScope,
    problem: tuple[str, dict[str, object]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "problem": problem,
        "uploads": roster_uploads.recent(session=session, user_id=staff.user.id),
        "example": EXAMPLE,
        "max_rows": request.app.state.settings.roster_max_rows,
        "max_mb": roster_file.MAX_BYTES // 1_000_000,
    }
    return render(request, "accounts/roster.html", context, status_code=status_code)


@router.get("/manage/roster")
def roster_page(request: Request, session: SessionDep, staff: HrOrAdmin) -> Response:
    """The upload form, the expected columns and the visitor's uploads of the last day."""
    return _form(request, session, staff)


@router.post("/manage/roster")
def roster_upload(
    request: Request, session: SessionDep, staff: HrOrAdmin, form: RawForm
) -> Response:
    """Keep a readable file and show its dry run; a file that cannot be read as a whole is
    refused here (422) and nothing is kept."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _form(request, session, staff, (N_("Choose a file."), {}), 422)
    raw = upload.file.read(roster_file.MAX_BYTES + 1)
    try:
        table = roster_file.read(raw, max_rows=request.app.state.settings.roster_max_rows)
    except roster_file.RosterFileError as exc:
        return _form(request, session, staff, (exc.message, exc.values), 422)
    upload_id = roster_uploads.store(
        session=session,
        user_id=staff.user.id,
        filename=upload.filename,
        raw=raw,
        table=table,
    )
    return RedirectResponse(f"/manage/roster/{upload_id}", status_code=303)


def _plan(
    request: Request, session: SessionDep, staff: StaffScope, upload: RosterUpload
) -> roster.Plan:
    """The dry run of a kept table against the data as it is now."""
    table = roster_uploads.table_of(upload)
    return roster.check(session=session, table=table, scope=staff.scope, today=_today(request))


def _page(
    request: Request,
    session: SessionDep,
    staff: StaffScope,
    upload: RosterUpload,
    problem: tuple[str, dict[str, object]] | None = None,
    status_code: int = 200,
) -> Response:
    plan = _plan(request, session, staff, upload)
    rejected = [r for r in plan.results if r.outcome == "rejected"]
    changes = [r for r in plan.results if r.outcome in ("created", "updated")]
    context = {
        "upload": upload,
        "plan": plan,
        "problem": problem,
        "applied": (
            roster_uploads.applied_counts(session=session, upload_id=upload.id)
            if upload.applied_at
            else None
        ),
        "rejected": rejected[:LISTED],
        "more_rejected": max(0, len(rejected) - LISTED),
        "changes": changes[:LISTED],
        "more_changes": max(0, len(changes) - LISTED),
    }
    return render(request, "accounts/roster_upload.html", context, status_code=status_code)


@router.get("/manage/roster/{upload_id}")
def roster_dry_run(
    request: Request, session: SessionDep, staff: HrOrAdmin, upload: OwnRosterUpload
) -> Response:
    """What each row would do (or, once applied, what was done and what still is refused)."""
    return _page(request, session, staff, upload)


@router.post("/manage/roster/{upload_id}/apply")
def roster_apply(
    request: Request, session: SessionDep, staff: HrOrAdmin, upload: OwnRosterUpload
) -> Response:
    """Apply every valid row in one transaction, then show the upload again (303)."""
    table = roster_uploads.table_of(upload)
    try:
        with write_lock(request.app.state.engine):  # SQLite: queue here, not in busy waits
            roster.apply(
                session=session,
                table=table,
                scope=staff.scope,
                today=_today(request),
                actor_id=staff.user.id,
                address=client_address(request),
                filename=upload.filename,
                sha256=upload.sha256,
                upload_id=upload.id,
            )
    except roster.RosterError as exc:
        session.refresh(upload)
        return _page(request, session, staff, upload, (str(exc), {}), 409)
    return RedirectResponse(f"/manage/roster/{upload.id}", status_code=303)


@router.get("/manage/roster/{upload_id}/report.csv")
def roster_report(
    request: Request, session: SessionDep, staff: HrOrAdmin, upload: OwnRosterUpload
) -> Response:
    """Every row's outcome as CSV (app/spreadsheet.py: the file Excel in Indonesian splits
    into columns, nothing in it a formula), streamed."""
    plan = _plan(request, session, staff, upload)
    # Translate now, while this request's language is set: the body is produced later, in
    # worker threads that do not share it.
    i18n.set_locale(request_locale(request))
    said = {message: i18n.gettext(message) for message in roster.report_messages(plan)}
    lines = roster.report_lines(plan, lambda message: said.get(message, message))

    header = next(lines)
    chunks = spreadsheet.csv_chunks(header, lines)

    name = f"roster-{upload.created_at:%Y%m%d-%H%M}-{upload.id[:6]}.csv"
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
