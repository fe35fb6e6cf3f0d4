"""Pages: catalogue, course overview, lesson, and content assets."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app import clock
from app.db import SessionDep, run_read, run_write
from app.templating import render
from modules.accounts.dependencies import CurrentUser, OptionalUser
from modules.courses import service
from modules.courses.dependencies import LiveCourse, LiveLesson
from modules.progress import flows as progress_flows
from modules.progress import service as progress_service
from modules.quizzes import service as quizzes_service

router = APIRouter()


@router.get("/")
def catalogue(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    courses = request.app.state.catalogue.courses()
    progress = {}
    due: dict[str, Any] = {}
    if user:
        for course in courses:
            done = progress_service.done_lessons(
                session=session, user_id=user.id, course_id=course.id
            )
            progress[course.id] = service.course_progress(course, done)
        due = progress_service.due_dates(session=session, user_id=user.id)
        # assigned courses first, soonest due first
        courses = sorted(courses, key=lambda c: (c.id not in due, due.get(c.id) or date.max))
    today = clock.today(request.app.state.settings.tz)
    context = {"courses": courses, "progress": progress, "due": due, "today": today}
    return render(request, "courses/catalogue.html", context)


@router.get("/courses/{course_id}")
def course_page(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    course: LiveCourse,
    marked: str = "",
) -> Response:
    done: set[str] = set()
    passed: set[str] = set()
    resume = completion = None
    if user:
        state = progress_service.lesson_state(
            conn=session.connection(), user_id=user.id, course_id=course.id
        )
        done, last = state.done, state.last_lesson
        resume = service.resume_lesson(course, last, done) if last or done else None
        completion = progress_service.completion(
            session=session, user_id=user.id, course_id=course.id
        )
        if progress_flows.complete_if_due(
            session=session,
            user_id=user.id,
            course=course,
            done=done,
            completed=completion is not None,
            policy=request.app.state.certificate_policy,
        ):
            completion = progress_service.completion(
                session=session, user_id=user.id, course_id=course.id
            )
        graded = [q for m in course.content.modules for q in m.quizzes if not q.self_assessment]
        passed = quizzes_service.passed_quiz_ids(
            session=session, user_id=user.id, course_id=course.id, quizzes=graded
        )
    return render(
        request,
        "courses/course.html",
        {
            "course": course,
            "done": done,
            "progress": service.course_progress(course, done),
            "resume": course.lesson(resume) if resume else None,
            "completion": completion,
            "marked": course.lesson(marked) if marked in done else None,
            "passed": passed,
        },
    )


@router.get("/courses/{course_id}/lessons/{lesson_id}")
async def lesson_page(
    request: Request, user: CurrentUser, ref: LiveLesson, marked: str = ""
) -> Response:
    # The most visited page: Core reads via run_read, the shell cached per version.
    course, engine = ref.course, request.app.state.engine
    state = await run_read(
        engine,
        lambda conn: progress_service.lesson_state(conn=conn, user_id=user.id, course_id=course.id),
    )
    if state.last_lesson != ref.lesson.id:
        await run_write(
            engine,
            lambda conn: progress_service.record_visit(
                conn=conn, user_id=user.id, course_id=course.id, lesson_id=ref.lesson.id
            ),
        )
    done, shells = state.done, request.app.state.shells
    is_done, count = ref.lesson.id in done, sum(1 for i in course.lesson_ids if i in done)
    status = shells.fragment(
        request,
        "_partials/lesson_status.html",
        lambda: {
            "course": course,
            "ref": ref,
            "is_done": is_done,
            "progress": service.course_progress(course, done),
            "completed_now": False,
            "course_completed": state.completed,
        },
        key=(course.version_id, ref.lesson.id, is_done, count, state.completed),
    )
    previous = course.lesson(marked) if marked in done else None  # after a plain-form "done"
    notice = shells.fragment(
        request,
        "_partials/marked_notice.html",
        lambda: {"marked": previous},
        key=("marked", course.version_id, marked if previous else ""),
    )
    return shells.render(  # type: ignore[no-any-return]
        request,
        "courses/lesson.html",
        {"course": course, "ref": ref, "next_url": request.url.path},
        key=(course.version_id, ref.lesson.id),
        slots={"status_slot": status, "notice_slot": notice},
    )


@router.get("/assets/{sha256}/{filename}")
def content_asset(session: SessionDep, sha256: str, filename: str) -> Response:
    row = service.asset(session=session, sha256=sha256) if len(sha256) == 64 else None
    if row is None:
        raise HTTPException(404)
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
    }
    if not row.media_type.startswith("image/"):
        headers["Content-Disposition"] = "attachment"
    return Response(row.data, media_type=row.media_type, headers=headers)
