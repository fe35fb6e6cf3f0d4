"""Pages after the course: the learner reports how their action plan went (and may share it
with their supervisor), and the supervisor answers through the mailed link, without an
account, seeing only what the learner shared."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import CurrentUser
from app.clock import utcnow
from app.db import SessionDep
from app.forms import FormData, client_address
from app.templating import render
from modules.accounts import service as accounts
from modules.courses.dependencies import LiveCourse
from modules.plans import service

router = APIRouter()


def _report_context(view: service.PlanView, course: Any) -> dict[str, Any]:
    return {
        "course": course,
        "view": view,
        "outcomes": service.OUTCOMES,
        "outcome_labels": service.OUTCOME_LABELS,
    }


def _report_values(view: service.PlanView) -> dict[str, str]:
    values = {
        "note": view.plan.report_note or "",
        "supervisor_name": view.plan.supervisor_name or "",
        "supervisor_email": view.plan.supervisor_email or "",
        "share": "yes" if view.plan.share_with_supervisor else "",
    }
    for item in view.items:
        values[f"outcome-{item.id}"] = item.outcome or ""
        values[f"note-{item.id}"] = item.outcome_note or ""
    return values


@router.get("/courses/{course_id}/plan/report")
def report_page(
    request: Request, session: SessionDep, user: CurrentUser, course: LiveCourse
) -> Response:
    """How the plan went: per item done, partly done or not yet, with a note; the choice to
    share it with the supervisor."""
    view = _reportable(request, session, user.id, course.id)
    if view is None:
        return RedirectResponse(f"/courses/{course.id}/plan", status_code=303)
    context = _report_context(view, course)
    context.update(values=_report_values(view), errors={})
    return render(request, "plans/report.html", context)


def _reportable(request: Request, session: Any, user_id: int, course_id: str) -> Any:
    """The learner's plan when it may be reported on: its report date has come (or it was
    reported before) and the supervisor has not answered; else None (the plan page says why)."""
    view = service.get(session=session, user_id=user_id, course_id=course_id)
    if view is None or view.plan.confirmed_at is not None:
        return None
    days = request.app.state.settings.plan_report_days
    if not view.reported and not service.report_due(view.plan, utcnow(), days):
        return None
    return view


@router.post("/courses/{course_id}/plan/report")
def report(
    request: Request, session: SessionDep, user: CurrentUser, course: LiveCourse, data: FormData
) -> Response:
    view = _reportable(request, session, user.id, course.id)
    if view is None:
        return RedirectResponse(f"/courses/{course.id}/plan", status_code=303)
    settings = request.app.state.settings
    learner = accounts.get(session=session, user_id=user.id)
    try:
        parsed = service.parse_report(data, view, user.email)
        mailed = service.record_report(
            session=session,
            settings=settings,
            view=view,
            report=parsed,
            learner=learner,
            course_title=course.content.title,
            address=client_address(request),
        )
    except service.PlanFormError as exc:
        session.rollback()
        context = _report_context(view, course)
        context.update(values=data, errors=exc.errors)
        return render(request, "plans/report.html", context, status_code=422)
    except service.ReportFrozen:
        session.rollback()
        return RedirectResponse(f"/courses/{course.id}/plan", status_code=303)
    session.commit()
    return RedirectResponse(
        f"/courses/{course.id}/plan?reported={'mailed' if mailed else '1'}", status_code=303
    )


def _confirm_context(request: Request, session: Any, view: service.PlanView) -> dict[str, Any]:
    catalogue = request.app.state.catalogue
    course = catalogue.get(view.plan.course_id)
    learner = accounts.get(session=session, user_id=view.plan.user_id)
    return {
        "view": view,
        "learner_name": learner.name,
        "course_title": course.content.title if course else view.plan.course_id,
        "value_name": course.content.tag_name if course else (lambda tag: tag),
        "outcome_labels": service.OUTCOME_LABELS,
    }


@router.get("/plans/confirm/{token}")
def confirm_page(request: Request, session: SessionDep, token: str) -> Response:
    """The supervisor's page: the plan and report the learner shared (nothing else about
    them), and the question whether the change is seen at work."""
    view = service.by_supervisor_token(session=session, token=token)
    if view is None:
        return render(request, "plans/confirm_gone.html", {}, status_code=404)
    context = _confirm_context(request, session, view)
    values = {}
    if view.plan.supervisor_seen is not None:
        values["seen"] = "yes" if view.plan.supervisor_seen else "no"
    values["comment"] = view.plan.supervisor_comment or ""
    context.update(token=token, values=values, errors={})
    return render(
        request, "plans/confirm.html", context, headers={"Referrer-Policy": "no-referrer"}
    )


@router.post("/plans/confirm/{token}")
def confirm(request: Request, session: SessionDep, token: str, data: FormData) -> Response:
    view = service.by_supervisor_token(session=session, token=token)
    if view is None:
        return render(request, "plans/confirm_gone.html", {}, status_code=404)
    try:
        seen, comment = service.parse_confirmation(data)
    except service.PlanFormError as exc:
        context = _confirm_context(request, session, view)
        context.update(token=token, values=data, errors=exc.errors)
        return render(request, "plans/confirm.html", context, status_code=422)
    service.confirm(
        session=session, token=token, seen=seen, comment=comment, address=client_address(request)
    )
    return RedirectResponse(f"/plans/confirm/{token}?saved=1", status_code=303)
