"""Report pages for HR (their agencies or unit) and admins (everyone): completion with charts,
status per person, JP recap, self-assessment change; exports run as background jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session

from app import clock
from app.db import SessionDep
from app.forms import FormData, client_address
from app.i18n import N_, tr
from app.templating import is_htmx, render, request_locale
from modules.accounts.dependencies import HrOrAdmin, StaffScope
from modules.accounts.schemas import PNS_GRADES, PPPK_GRADES
from modules.agencies import service as agencies_service
from modules.audit import service as audit_service
from modules.reports import exports, jobs, queries, service, siasn

router = APIRouter()
PAGE = 50
GROUP_LABELS = {
    "agency": N_("Agency"),
    "unit": N_("Work unit"),
    "grade": N_("Grade"),
    "employment_type": N_("Employment type"),
}
PEOPLE_EXPORTS = [
    ("people:csv", N_("Status per person (CSV)")),
    ("people:xlsx", N_("Status per person (XLSX)")),
    ("siasn:csv", N_("SIASN course history (CSV)")),
]
JP_EXPORTS = [("jp:csv", N_("JP recap (CSV)")), ("jp:xlsx", N_("JP recap (XLSX)"))]
AFTER_EXPORTS = [
    ("after:csv", N_("After the course (CSV)")),
    ("after:xlsx", N_("After the course (XLSX)")),
]


def _base(
    request: Request, session: Session, manager: StaffScope, *, jp: bool = False
) -> tuple[service.Filters, dict[str, str], dict[str, Any]]:
    """Filters from the query (403 for an agency outside the scope) and what every report
    page shows around them."""
    catalogue = request.app.state.catalogue
    courses = catalogue.courses()
    filters, errors = service.parse_filters(
        dict(request.query_params), [c.id for c in courses], jp=jp
    )
    try:
        service.check_scope(manager.scope, filters)
    except PermissionError:
        raise HTTPException(403) from None
    agencies = [
        a
        for a in agencies_service.list_active(session=session)
        if manager.scope.allows_agency(a.id)
    ]
    course = next((c for c in courses if c.id == filters.course_id), None)
    if course is None:
        raise HTTPException(404)
    context = {
        "filters": filters,
        "errors": errors,
        "params": filters.as_params(),
        "courses": courses,
        "course": course,
        "agencies": agencies,
        "grades": PNS_GRADES + PPPK_GRADES,
        "is_admin": manager.scope.everything,
        "status_labels": exports.STATUS_LABELS,
        "group_labels": GROUP_LABELS,
        "status_choices": [],
        "with_year": False,
        "with_search": False,
        "group_by": None,
        "year": None,
        "export_choices": PEOPLE_EXPORTS,
    }
    return filters, errors, context


def _today(request: Request) -> Any:
    return clock.today(request.app.state.settings.tz)


def _audit_view(
    request: Request,
    session: Session,
    manager: StaffScope,
    what: str,
    filters: Any,
    **extra: Any,
) -> None:
    """HR and admins looking at named people is recorded (who, what, when, from where)."""
    audit_service.record(
        session=session,
        actor_id=manager.user.id,
        action=f"report.{what}",
        subject_type="report",
        subject_id=filters.course_id,
        detail={"filters": filters.as_params(), **extra},
        address=client_address(request),
        covers=manager.scope.narrowed(filters.agency_id, filters.unit),
    )
    session.commit()


@router.get("/manage/reports")
def completion_page(request: Request, session: SessionDep, manager: HrOrAdmin) -> Response:
    """Completion of a course by group, with module completion and charts."""
    filters, errors, context = _base(request, session, manager)
    settings = request.app.state.settings
    group_by = service.default_group(manager.scope, filters, request.query_params.get("group"))
    report = service.completion_report(
        conn=session.connection(),
        scope=manager.scope,
        filters=filters,
        course=context["course"].content,
        group_by=group_by,
        tz=settings.tz,
        today=_today(request),
    )
    context.update(report=report, group_by=group_by, groups=service.GROUPS)
    context["status_choices"] = [(s, exports.STATUS_LABELS[s]) for s in service.STATUSES]
    return render(request, "reports/completion.html", context, status_code=422 if errors else 200)


@router.get("/manage/reports/people")
def people_page(request: Request, session: SessionDep, manager: HrOrAdmin) -> Response:
    """Status per person, 50 a page, ordered by name."""
    filters, errors, context = _base(request, session, manager)
    cursor = service.decode_cursor(request.query_params.get("after", ""), (str, int))
    window = queries.Window.of(filters, request.app.state.settings.tz, _today(request))
    conn = session.connection()
    rows = queries.people_page(
        conn=conn,
        scope=manager.scope,
        filters=filters,
        window=window,
        after=(cursor[0], cursor[1]) if cursor else None,
        limit=PAGE + 1,  # one more tells whether there is a next page
    )
    more, rows = len(rows) > PAGE, rows[:PAGE]
    total = queries.count_people(conn=conn, scope=manager.scope, filters=filters, window=window)
    _audit_view(request, session, manager, "people", filters)
    context.update(
        with_search=True,
        status_choices=[(s, exports.STATUS_LABELS[s]) for s in service.STATUSES],
        rows=rows,
        total=total,
        next_cursor=service.encode_cursor([rows[-1].name, rows[-1].id]) if more else None,
        status_labels=exports.STATUS_LABELS,
    )
    return render(request, "reports/people.html", context, status_code=422 if errors else 200)


@router.get("/manage/reports/jp")
def jp_page(request: Request, session: SessionDep, manager: HrOrAdmin) -> Response:
    """JP earned on this platform per person in a year, against the yearly target."""
    filters, errors, context = _base(request, session, manager, jp=True)
    settings = request.app.state.settings
    year_text = request.query_params.get("year") or str(_today(request).year)
    year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= 2100 else None
    if year is None:
        errors["year"] = N_("Give a year such as 2026.")
        year = _today(request).year
    targets = service.jp_targets(settings)
    cursor = service.decode_cursor(request.query_params.get("after", ""), (str, int))
    conn = session.connection()
    rows = service.jp_page(
        conn=conn,
        scope=manager.scope,
        filters=filters,
        year=year,
        tz=settings.tz,
        targets=targets,
        after=(cursor[0], cursor[1]) if cursor else None,
        limit=PAGE + 1,  # one more tells whether there is a next page
    )
    more, rows = len(rows) > PAGE, rows[:PAGE]
    summary = queries.jp_summary(
        conn=conn,
        scope=manager.scope,
        filters=filters,
        year=year,
        tz=settings.tz,
        targets=targets,
    )
    _audit_view(request, session, manager, "jp", filters, year=year)
    context.update(
        with_search=True,
        with_year=True,
        status_choices=[(s, exports.STATUS_LABELS[s]) for s in service.JP_STATUSES],
        export_choices=JP_EXPORTS,
        rows=rows,
        year=year,
        summary=summary,
        targets=targets,
        jp_status=queries.jp_status,
        status_labels=exports.STATUS_LABELS,
        next_cursor=service.encode_cursor([rows[-1].name, rows[-1].id]) if more else None,
    )
    return render(request, "reports/jp.html", context, status_code=422 if errors else 200)


@router.get("/manage/reports/self-assessment")
def self_assessment_page(request: Request, session: SessionDep, manager: HrOrAdmin) -> Response:
    """Mean self-assessment per value before and after the course."""
    filters, errors, context = _base(request, session, manager)
    course = context["course"].content
    changes = service.self_assessment_change(
        conn=session.connection(), scope=manager.scope, filters=filters, course=course
    )
    pair = service.self_assessments(course)
    context.update(changes=changes, pair=pair)
    return render(
        request, "reports/self_assessment.html", context, status_code=422 if errors else 200
    )


@router.get("/manage/reports/after")
def after_page(
    request: Request, session: SessionDep, manager: HrOrAdmin, group: str = ""
) -> Response:
    """What came of the course, per unit or agency: knowledge gain (pre-test to post-test),
    the reaction survey, action plans written, reported and confirmed by supervisors, and the
    self-assessment change at the follow-up. Counts and means only, never a person's words."""
    filters, errors, context = _base(request, session, manager)
    group = service.default_group(
        manager.scope, filters, group if group in service.AFTER_GROUPS else None
    )
    rows = service.after_course(
        conn=session.connection(),
        scope=manager.scope,
        filters=filters,
        course=context["course"].content,
        group_by=group,
        min_group=request.app.state.settings.report_min_group,
    )
    changes = service.self_assessment_change(
        conn=session.connection(),
        scope=manager.scope,
        filters=filters,
        course=context["course"].content,
    )
    total = rows[-1]
    context.update(
        rows=rows[:-1],
        total=total,
        group=group,
        changes=changes if not total.hidden else [],
        pair=service.self_assessments(context["course"].content),
        export_choices=AFTER_EXPORTS,
        min_group=request.app.state.settings.report_min_group,
    )
    return render(request, "reports/after.html", context, status_code=422 if errors else 200)


def _siasn_ready(
    settings: Any, session: Session, manager: StaffScope, filters: Any, window: Any
) -> None:
    """Refuse a SIASN export while a code it needs is not set: the course type confirmed in
    the deployment's SIASN reference, and the SIASN id of each agency in it (never guessed)."""
    codes = queries.certificate_agencies(
        conn=session.connection(), scope=manager.scope, filters=filters, window=window
    )
    no_type, no_id = siasn.missing(settings, codes)
    if no_type:
        raise jobs.JobError(N_(
            "The SIASN export needs the SIASN code of this course's type of training, as "
            "confirmed in your SIASN reference (BERAKHLAK_SIASN_JENIS_DIKLAT_ID). Ask the "
            "platform's administrator to set it."
        ))  # fmt: skip
    if no_id:
        raise jobs.JobError(
            tr(
                "The SIASN export needs the SIASN agency id (instansiId) of every agency in "
                "it; missing for: {codes}. Ask the platform's administrator to add them "
                "(BERAKHLAK_SIASN_INSTANSI_IDS).",
                codes=", ".join(no_id),
            )
        )


@router.post("/manage/reports/exports")
def export_start(
    request: Request, session: SessionDep, manager: HrOrAdmin, form: FormData
) -> Response:
    """Queue an export of what the form's filters select; a worker writes the file."""
    catalogue = request.app.state.catalogue
    settings = request.app.state.settings
    kind, _sep, fmt = form.get("export", "").partition(":")
    asked = {**dict(request.query_params), **dict(form)}
    filters, errors = service.parse_filters(
        asked, [c.id for c in catalogue.courses()], jp=kind == "jp"
    )
    try:
        service.check_scope(manager.scope, filters)
    except PermissionError:
        raise HTTPException(403) from None
    year = form.get("year", "")
    year_value = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else _today(request).year
    window = queries.Window.of(filters, settings.tz, _today(request))
    rows = queries.count_people(
        conn=session.connection(), scope=manager.scope, filters=filters, window=window
    )
    try:
        if errors:
            raise jobs.JobError(next(iter(errors.values())))
        if kind == "siasn":
            _siasn_ready(settings, session, manager, filters, window)
        job = jobs.create(
            session=session,
            user_id=manager.user.id,
            kind=kind,
            fmt=fmt,
            filters=filters,
            year=year_value,
            locale=request_locale(request),
            rows=rows,
        )
    except jobs.JobError as exc:
        context = {
            "error": exc.args[0],
            "recent": jobs.recent(session=session, user_id=manager.user.id),
        }
        return render(request, "reports/exports.html", context, status_code=422)
    audit_service.record(
        session=session,
        actor_id=manager.user.id,
        action="report.export",
        subject_type="report",
        subject_id=job.id,
        detail={"kind": kind, "format": fmt, "filters": filters.as_params(), "people": rows},
        address=client_address(request),
        covers=manager.scope.narrowed(filters.agency_id, filters.unit),
    )
    session.commit()
    return RedirectResponse(f"/manage/reports/exports/{job.id}", status_code=303)


@router.get("/manage/reports/exports")
def exports_page(request: Request, session: SessionDep, manager: HrOrAdmin) -> Response:
    """This user's recent exports."""
    context = {"error": None, "recent": jobs.recent(session=session, user_id=manager.user.id)}
    return render(request, "reports/exports.html", context)


def _own_job(session: Session, manager: StaffScope, job_id: str) -> Any:
    job = jobs.own(session=session, job_id=job_id, user_id=manager.user.id)
    if job is None:
        raise HTTPException(404)
    return job


@router.get("/manage/reports/exports/{job_id}")
def export_status(
    request: Request, session: SessionDep, manager: HrOrAdmin, job_id: str
) -> Response:
    """An export's progress (read only); htmx polls the status fragment until it is done."""
    job = _own_job(session, manager, job_id)
    template = "reports/_job_status.html" if is_htmx(request) else "reports/job.html"
    response = render(request, template, {"job": job})
    response.headers["Vary"] = "HX-Request"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/manage/reports/exports/{job_id}/download")
def export_download(
    request: Request, session: SessionDep, manager: HrOrAdmin, job_id: str
) -> Response:
    """The finished file of one's own export."""
    job = _own_job(session, manager, job_id)
    path = jobs.path_of(request.app.state.settings, job)
    if job.status != "done" or not path.exists():
        raise HTTPException(404)
    audit_service.record(
        session=session,
        actor_id=manager.user.id,
        action="report.download",
        subject_type="report",
        subject_id=job.id,
        detail={"kind": job.kind, "rows": job.rows_done},
        address=client_address(request),
    )
    session.commit()
    media = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[job.format]
    return FileResponse(
        path,
        media_type=media,
        filename=job.file_name or path.name,
        headers={"Cache-Control": "private, no-store"},
    )
