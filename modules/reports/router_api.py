"""The reports as JSON for HR systems, under /api/v1/reports, read with an API token: the same
services and queries as the report pages, with strict parameters (a bad or unknown one is a
422, never silently dropped: a system must not take a wider report for the one it asked)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import Session

from app import clock
from app.db import SessionDep
from app.errors import ProblemError
from app.forms import client_address
from modules.accounts.dependencies import ApiReader, Reader
from modules.accounts.schemas import PNS_GRADES, PPPK_GRADES
from modules.audit import service as audit_service
from modules.reports import queries, schemas, service

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Q = Query  # short, for the many parameters below
PROBLEM = {"model": schemas.ProblemOut, "content": {"application/problem+json": {}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**PROBLEM, "description": "A cursor that is not one of ours."},
    401: {**PROBLEM, "description": "No API token, or an unknown, expired or revoked one."},
    403: {**PROBLEM, "description": "An agency outside the token owner's scope, or no HR role."},
    404: {**PROBLEM, "description": "No course to report on."},
    422: {**PROBLEM, "description": "A parameter that is not valid or not known."},
}


DATE: dict[str, Any] = {"format": "date"}


def filter_params(
    course: Annotated[str | None, Q(description="Course id (default: the first course).")] = None,
    agency: Annotated[
        str | None, Q(description="Agency id; must be in your scope.", pattern=r"^[0-9]{1,9}$")
    ] = None,
    unit: Annotated[str | None, Q(description="Work unit, as in people's profiles.")] = None,
    grade: Annotated[
        str | None,
        Q(
            description="Grade, e.g. III/a (PNS) or IX (PPPK).",
            json_schema_extra={"enum": [*PNS_GRADES, *PPPK_GRADES]},
        ),
    ] = None,
    kind: Annotated[
        str | None,
        Q(alias="type", description="PNS or PPPK.", json_schema_extra={"enum": ["PNS", "PPPK"]}),
    ] = None,
    since: Annotated[
        str | None, Q(description="Start of the period, YYYY-MM-DD.", json_schema_extra=DATE)
    ] = None,
    until: Annotated[
        str | None,
        Q(
            description="Statuses as at the end of this day, YYYY-MM-DD (default today).",
            json_schema_extra=DATE,
        ),
    ] = None,
) -> dict[str, str | None]:
    """The filters every report takes (declared here so OpenAPI lists them; checked by
    `service.parse_filters`, as on the pages)."""
    return {
        "course": course,
        "agency": agency,
        "unit": unit,
        "grade": grade,
        "type": kind,
        "since": since,
        "until": until,
    }


Filters = Annotated[dict[str, str | None], Depends(filter_params)]
Cursor = Annotated[str | None, Q(description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Q(ge=1, le=500, description="People per page.")]
Search = Annotated[str | None, Q(description="Part of a name, or the start of a NIP.")]
COMMON = ("course", "agency", "unit", "grade", "type", "since", "until")


def _parse(
    request: Request,
    reader: ApiReader,
    asked: dict[str, str | None],
    *,
    jp: bool = False,
) -> tuple[service.Filters, Any]:
    """The filters and the course, or a problem: 422 naming every bad or unknown parameter,
    403 for an agency outside the scope, 404 without a course."""
    unknown = sorted(set(request.query_params) - set(asked))
    params = {k: v for k, v in asked.items() if v is not None}
    courses = request.app.state.catalogue.courses()
    filters, errors = service.parse_filters(params, [c.id for c in courses], jp=jp)
    empty = {name: "Give a value, or leave the parameter out." for name in request.query_params
             if not request.query_params[name].strip() and name in asked}  # fmt: skip
    problems = {name: "Unknown parameter." for name in unknown} | empty | errors
    if problems:
        names = ", ".join(problems)
        raise ProblemError(
            422,
            f"Not valid: {names}. " + " ".join(f"{k}: {v}" for k, v in problems.items()),
            errors=[{"loc": ["query", k], "msg": v} for k, v in problems.items()],
        )
    try:
        service.check_scope(reader.scope, filters)
    except PermissionError:
        raise ProblemError(403, "That agency is outside the token owner's scope.") from None
    course = next((c for c in courses if c.id == filters.course_id), None)
    if course is None:
        raise ProblemError(404, "There is no course to report on.")
    return filters, course


def _after(cursor: str | None) -> tuple[str, int] | None:
    if cursor is None:
        return None
    values = service.decode_cursor(cursor, (str, int))
    if values is None:
        raise ProblemError(400, "The cursor is not one we gave; start again without it.")
    return values[0], values[1]


def _today(request: Request) -> Any:
    return clock.today(request.app.state.settings.tz)


def _audit(
    request: Request, session: Session, reader: ApiReader, what: str, filters: Any, **more: Any
) -> None:
    """Named people read through the API are recorded like views of the pages, with the
    token that read them."""
    audit_service.record(
        session=session,
        actor_id=reader.user_id,
        action=f"api.{what}",
        subject_type="report",
        subject_id=filters.course_id,
        detail={"token": reader.prefix, "filters": filters.as_params(), **more},
        address=client_address(request),
        covers=reader.scope.narrowed(filters.agency_id, filters.unit),
    )
    session.commit()


def _group(row: service.GroupRow) -> schemas.GroupOut:
    return schemas.GroupOut(
        key=row.key,
        label=row.label,
        people=row.people,
        completed=row.completed,
        in_progress=row.in_progress,
        overdue=row.overdue,
        not_started=row.not_started,
        completed_in_period=row.completed_in_period,
        assigned=row.assigned,
        rate=row.rate,
        jp=row.jp,
    )


@router.get("/completion", response_model=schemas.CompletionOut, responses=RESPONSES)
def completion(
    request: Request,
    session: SessionDep,
    reader: Reader,
    asked: Filters,
    group: Annotated[
        Literal["agency", "unit", "grade", "employment_type"] | None,
        Q(description="Default: units within one agency, else agencies."),
    ] = None,
) -> Any:
    """Completion of a course by group, with module completion and completions by month."""
    filters, course = _parse(request, reader, {**asked, "group": group})
    group_by = service.default_group(reader.scope, filters, group)
    report = service.completion_report(
        conn=session.connection(),
        scope=reader.scope,
        filters=filters,
        course=course.content,
        group_by=group_by,
        tz=request.app.state.settings.tz,
        today=_today(request),
    )
    return schemas.CompletionOut(
        course=filters.course_id,
        filters=filters.as_params(),
        group_by=group_by,
        totals=_group(report.total),
        groups=[_group(g) for g in report.groups],
        modules=[
            schemas.ModuleOut(id=i, title=t, completed=n, percent=p)
            for i, t, n, p in report.modules
        ],
        months=[schemas.MonthOut(month=m, completed=n) for m, n in report.months],
    )


@router.get("/people", response_model=schemas.PeopleOut, responses=RESPONSES)
def people(
    request: Request,
    session: SessionDep,
    reader: Reader,
    asked: Filters,
    status: Annotated[
        str | None,
        Q(
            description="Only people with this status.",
            json_schema_extra={"enum": ["completed", "overdue", "in_progress", "not_started"]},
        ),
    ] = None,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    """Each person's status in a course, ordered by name (then an internal id), a page at a
    time. Audited."""
    extra = {"status": status, "q": q, "cursor": cursor, "limit": str(limit)}
    filters, _course = _parse(request, reader, {**asked, **extra})
    after = _after(cursor)
    window = queries.Window.of(filters, request.app.state.settings.tz, _today(request))
    rows = queries.people_page(
        conn=session.connection(),
        scope=reader.scope,
        filters=filters,
        window=window,
        after=after,
        limit=limit + 1,  # one more tells whether there is a next page
    )
    more, rows = len(rows) > limit, rows[:limit]
    _audit(request, session, reader, "people", filters, cursor=cursor, rows=len(rows))
    return schemas.PeopleOut(
        items=[schemas.PersonOut(**service.person_dict(r)) for r in rows],
        next_cursor=service.encode_cursor([rows[-1].name, rows[-1].id]) if more else None,
    )


@router.get("/jp", response_model=schemas.JpOut, responses=RESPONSES)
def jp(
    request: Request,
    session: SessionDep,
    reader: Reader,
    asked: Filters,
    year: Annotated[int | None, Q(ge=2000, le=2100, description="Default: this year.")] = None,
    status: Annotated[Literal["met", "below"] | None, Q(description="Against the target.")] = None,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    """JP earned on this platform per person in a year against their yearly target (20 for
    PNS, 24 for PPPK unless configured), ordered by name, a page at a time. Audited."""
    extra = {
        "year": str(year) if year else None,
        "status": status,
        "q": q,
        "cursor": cursor,
        "limit": str(limit),
    }
    filters, _course = _parse(request, reader, {**asked, **extra}, jp=True)
    after = _after(cursor)
    settings = request.app.state.settings
    year = year or _today(request).year
    targets = service.jp_targets(settings)
    conn = session.connection()
    common = {"scope": reader.scope, "filters": filters, "year": year, "tz": settings.tz}
    rows = service.jp_page(conn=conn, **common, targets=targets, after=after, limit=limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    summary = (
        None
        if after is not None  # once per walk through the pages, not once per page
        else schemas.JpSummaryOut(**queries.jp_summary(conn=conn, **common, targets=targets))
    )
    _audit(request, session, reader, "jp", filters, year=year, cursor=cursor, rows=len(rows))
    return schemas.JpOut(
        year=year,
        targets=targets,
        summary=summary,
        items=[
            schemas.JpPersonOut(
                nip=r.nip,
                name=r.name,
                agency=r.agency,
                unit=r.work_unit,
                position=r.position,
                grade=r.grade,
                employment_type=r.employment_type,
                jp=r.jp,
                target=r.target,
                ceiling=r.ceiling,
                status=queries.jp_status(r),
            )
            for r in rows
        ],
        next_cursor=service.encode_cursor([rows[-1].name, rows[-1].id]) if more else None,
    )


@router.get("/self-assessment", response_model=schemas.SelfAssessmentOut, responses=RESPONSES)
def self_assessment(request: Request, session: SessionDep, reader: Reader, asked: Filters) -> Any:
    """Mean self-assessment per core value before and after the course, over each person's
    latest answers (no one is named)."""
    filters, course = _parse(request, reader, dict(asked))
    changes = service.self_assessment_change(
        conn=session.connection(), scope=reader.scope, filters=filters, course=course.content
    )
    pair = service.self_assessments(course.content)
    return schemas.SelfAssessmentOut(
        course=filters.course_id,
        before_quiz=pair[0].id if pair else None,
        after_quiz=pair[1].id if pair else None,
        values=[
            schemas.ValueOut(
                value=c.tag,
                before=c.before,
                after=c.after,
                change=c.change,
                answers_before=c.answers_before,
                answers_after=c.answers_after,
            )
            for c in changes
        ],
    )
