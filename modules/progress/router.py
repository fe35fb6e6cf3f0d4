"""Pages: mark a lesson done (htmx fragment or plain form) and "my learning"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app import clock
from app.clock import utcnow
from app.db import SessionDep
from app.templating import is_htmx, render
from modules.accounts.dependencies import CurrentUser
from modules.courses import service as courses_service
from modules.courses.dependencies import LiveLesson
from modules.courses.service import LessonRef
from modules.progress import flows, service

router = APIRouter()


def _lesson_url(course_id: str, lesson_id: str) -> str:
    return f"/courses/{course_id}/lessons/{lesson_id}"


def _status_response(
    request: Request, session: SessionDep, user_id: int, ref: LessonRef, completed_now: bool
) -> Response:
    course = ref.course
    state = service.lesson_state(conn=session.connection(), user_id=user_id, course_id=course.id)
    context = {
        "course": course,
        "ref": ref,
        "is_done": ref.lesson.id in state.done,
        "progress": courses_service.course_progress(course, state.done),
        "completed_now": completed_now,
        "course_completed": state.completed,
    }
    return render(request, "_partials/lesson_status.html", context)


@router.post("/courses/{course_id}/lessons/{lesson_id}/done")
def lesson_done(
    request: Request, session: SessionDep, user: CurrentUser, ref: LiveLesson
) -> Response:
    course = ref.course
    completed_now = flows.complete_lesson(
        session=session,
        user_id=user.id,
        course=course,
        lesson_id=ref.lesson.id,
        policy=request.app.state.certificate_policy,
    )
    if is_htmx(request):
        return _status_response(request, session, user.id, ref, completed_now)
    marked = f"?marked={ref.lesson.id}"  # the next page confirms it (no JavaScript here)
    if completed_now or ref.next is None:
        return RedirectResponse(f"/courses/{course.id}{marked}", status_code=303)
    return RedirectResponse(_lesson_url(course.id, ref.next.id) + marked, status_code=303)


@router.post("/courses/{course_id}/lessons/{lesson_id}/undone")
def lesson_undone(
    request: Request, session: SessionDep, user: CurrentUser, ref: LiveLesson
) -> Response:
    course = ref.course
    flows.undo_lesson(session=session, user_id=user.id, course=course, lesson_id=ref.lesson.id)
    if is_htmx(request):
        return _status_response(request, session, user.id, ref, False)
    return RedirectResponse(_lesson_url(course.id, ref.lesson.id), status_code=303)


@router.get("/me/learning")
def my_learning(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    settings = request.app.state.settings
    year = clock.local_now(settings.tz).year
    catalogue = request.app.state.catalogue
    items = []
    for summary in service.enrollments(session=session, user_id=user.id):
        course = catalogue.get(summary.course_id)
        if course is None:
            continue
        done = service.done_lessons(session=session, user_id=user.id, course_id=course.id)
        if flows.complete_if_due(
            session=session,
            user_id=user.id,
            course=course,
            done=done,
            completed=summary.completed_at is not None,
            policy=request.app.state.certificate_policy,
        ):
            summary.completed_at = utcnow()
        resume = courses_service.resume_lesson(course, summary.last_lesson_id, done)
        items.append(
            {
                "course": course,
                "progress": courses_service.course_progress(course, done),
                "resume": course.lesson(resume) if resume else None,
                "completed_at": summary.completed_at,
                "due_on": summary.due_on,
            }
        )
    target = settings.jp_target_pppk if user.employment_type == "PPPK" else settings.jp_target
    earned = service.jp_earned(session=session, user_id=user.id, year=year, zone=settings.tz)
    return render(
        request,
        "progress/my_learning.html",
        {
            "items": items,
            "year": year,
            "today": clock.today(settings.tz),
            "jp_earned": earned,
            "jp_target": target,
            "jp_percent": min(100, round(100 * earned / target)),
        },
    )
