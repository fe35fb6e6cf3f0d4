"""The action plan (rencana aksi), the course's last activity: its page (the instructions,
the form, or the plan written) and the POST that records it through the workflow, since
writing it may complete the course."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import clock
from app.auth import CurrentUser
from app.db import SessionDep
from app.forms import FormData, client_address
from app.templating import render
from modules.courses.dependencies import LiveCourse
from modules.courses.service import CourseView
from modules.learning import facts, rules, workflow
from modules.plans import service as plans
from modules.progress import service as progress_service
from modules.quizzes import service as quizzes_service

router = APIRouter()


def _plan_context(request: Request, session: Any, user: Any, course: CourseView) -> dict[str, Any]:
    activity = course.content.plan
    if activity is None:
        raise HTTPException(404)
    standing = facts.standing(session, user.id, course)
    view = plans.get(session=session, user_id=user.id, course_id=course.id)
    left = None
    if not standing.plan_open and view is None:
        done = progress_service.done_lessons(session=session, user_id=user.id, course_id=course.id)
        passed = quizzes_service.passed_quiz_ids(
            session=session,
            user_id=user.id,
            course_id=course.id,
            quizzes=rules.graded_quizzes(course),
        )
        left = rules.remaining(course, done, passed, plan_written=False)
    today = clock.today(request.app.state.settings.tz)
    return {
        "course": course,
        "activity": activity,
        "values": {tag: course.content.tag_name(tag) for tag in activity.values},
        "view": view,
        "open": standing.plan_open or view is not None,
        "left": left,
        "today": today,
        "outcome_labels": plans.OUTCOME_LABELS,
        "report_due": view is not None
        and plans.report_due(
            view.plan, clock.utcnow(), request.app.state.settings.plan_report_days
        ),
        "report_on": view.plan.written_at
        + timedelta(days=request.app.state.settings.plan_report_days)
        if view is not None
        else None,
        "completed": progress_service.completion(
            session=session, user_id=user.id, course_id=course.id
        ),
    }


def _values_of(view: plans.PlanView | None) -> dict[str, str]:
    """A written plan as the form's values (to change it before it is reported on)."""
    if view is None:
        return {}
    values = {
        "supervisor_name": view.plan.supervisor_name or "",
        "supervisor_email": view.plan.supervisor_email or "",
    }
    for item in view.items:
        values[f"behaviour-{item.value_tag}"] = item.behaviour
        values[f"evidence-{item.value_tag}"] = item.evidence
        values[f"due-{item.value_tag}"] = item.due_on.isoformat()
    return values


@router.get("/courses/{course_id}/plan")
def plan_page(
    request: Request, session: SessionDep, user: CurrentUser, course: LiveCourse, edit: str = ""
) -> Response:
    """The plan: its instructions and form once the rest of the course is done (what is left
    otherwise); once written, the plan, with a way to change it until it is reported on."""
    context = _plan_context(request, session, user, course)
    editing = context["view"] is None or (edit == "1" and not context["view"].reported)
    context.update(editing=editing, form_values=_values_of(context["view"]), errors={})
    return render(request, "learning/plan.html", context)


@router.post("/courses/{course_id}/plan")
def write_plan(
    request: Request, session: SessionDep, user: CurrentUser, course: LiveCourse, data: FormData
) -> Response:
    context = _plan_context(request, session, user, course)
    if not context["open"] or (context["view"] is not None and context["view"].reported):
        return RedirectResponse(f"/courses/{course.id}/plan", status_code=303)
    try:
        plan_input = plans.parse_plan(
            data, context["activity"], context["values"], context["today"], user.email
        )
        outcome = workflow.plan_written(
            session=session,
            user_id=user.id,
            course=course,
            plan_input=plan_input,
            address=client_address(request),
        )
    except plans.PlanFormError as exc:
        context.update(editing=True, form_values=data, errors=exc.errors)
        return render(request, "learning/plan.html", context, status_code=422)
    except (workflow.PlanNotOpen, ValueError):  # reported on meanwhile: it stays as it was
        return RedirectResponse(f"/courses/{course.id}/plan", status_code=303)
    if outcome.completed_now:
        return RedirectResponse(f"/courses/{course.id}/completed", status_code=303)
    return RedirectResponse(f"/courses/{course.id}/plan?saved=1", status_code=303)
