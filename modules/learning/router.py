"""The learner's journey: the catalogue, a course, a lesson, "my learning" (pages, which only
read), and the requests that are learning events (each a POST into the workflow): a lesson
marked done or not done, a quiz started, a quiz handed in."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app import clock
from app.auth import CurrentUser, OptionalUser
from app.db import SessionDep, run_read, run_write
from app.forms import RawForm
from app.templating import is_htmx, render
from modules.accounts import service as accounts_service
from modules.accounts.dependencies import LoggedInLater
from modules.certificates import service as certificates_service
from modules.courses import service as courses_service
from modules.courses.dependencies import LiveCourse, LiveLesson
from modules.courses.schemas import KIND_LABELS
from modules.courses.service import LessonRef
from modules.learning import facts, rules, workflow
from modules.plans import service as plans_service
from modules.progress import service as progress_service
from modules.quizzes import service as quizzes_service
from modules.quizzes.dependencies import LiveQuiz, resolve_own_attempt

router = APIRouter()


def _lesson_url(course_id: str, lesson_id: str) -> str:
    return f"/courses/{course_id}/lessons/{lesson_id}"


def _attempt_url(attempt_id: str, page: str = "") -> str:
    return f"/attempts/{attempt_id}{page}"


def _may_learn(course: Any, agency_id: int, state: Any) -> bool:
    """A course offered to the learner's agency, or one they began before it stopped being
    offered to it (what they started they may finish). Every route that records learning
    asks this first, so nobody begins a course that is not offered to them."""
    return course.offered(agency_id) or bool(state.done or state.last_lesson or state.completed)


def _offered_or_404(session: Session, course: Any, user: Any) -> None:
    """404 for a course not offered to the learner's agency that they never began."""
    if course.offered(user.agency_id):
        return
    state = progress_service.lesson_state(
        conn=session.connection(), user_id=user.id, course_id=course.id
    )
    if not _may_learn(course, user.agency_id, state):
        raise HTTPException(404)


# ---- pages -----------------------------------------------------------------------------------


@router.get("/")
def catalogue(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    # an agency's course is listed for the agencies it is offered to (anonymous visitors see
    # the courses offered to everyone)
    agency = user.agency_id if user else None
    courses = [c for c in request.app.state.catalogue.courses() if c.offered(agency)]
    progress = {}
    due: dict[str, Any] = {}
    if user:
        for course in courses:
            done = progress_service.done_lessons(
                session=session, user_id=user.id, course_id=course.id
            )
            progress[course.id] = courses_service.course_progress(course, done)
        due = progress_service.due_dates(session=session, user_id=user.id)
        # assigned courses first, soonest due first
        courses = sorted(courses, key=lambda c: (c.id not in due, due.get(c.id) or date.max))
    today = clock.today(request.app.state.settings.tz)
    context = {"courses": courses, "progress": progress, "due": due, "today": today}
    return render(request, "learning/catalogue.html", context)


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
    resume = completion = plan_view = after = None
    if not user and not course.offered(None):
        raise HTTPException(404)  # an agency's course: only its audience sees it
    if user:
        state = progress_service.lesson_state(
            conn=session.connection(), user_id=user.id, course_id=course.id
        )
        if not _may_learn(course, user.agency_id, state):
            raise HTTPException(404)
        done, last = state.done, state.last_lesson
        resume = courses_service.resume_lesson(course, last, done) if last or done else None
        completion = progress_service.completion(
            session=session, user_id=user.id, course_id=course.id
        )
        passed = quizzes_service.passed_quiz_ids(
            session=session,
            user_id=user.id,
            course_id=course.id,
            quizzes=rules.graded_quizzes(course),
        )
        if course.content.plan is not None:
            plan_view = plans_service.get(session=session, user_id=user.id, course_id=course.id)
            after = facts.after_course(
                session, request.app.state.settings, user.id, course, plan_view
            )
    return render(
        request,
        "learning/course.html",
        {
            "course": course,
            "done": done,
            "progress": courses_service.course_progress(course, done),
            "resume": course.lesson(resume) if resume else None,
            "completion": completion,
            "marked": course.lesson(marked) if marked in done else None,
            "passed": passed,
            "left": rules.remaining(course, done, passed, plan_view is not None) if user else None,
            "plan_view": plan_view,
            "after": after,
            "kind_labels": KIND_LABELS,
        },
    )


@router.get("/courses/{course_id}/lessons/{lesson_id}")
async def lesson_page(
    request: Request, user: CurrentUser, ref: LiveLesson, marked: str = ""
) -> Response:
    # The most visited page: Core reads via run_read, the shell cached per version. The one
    # write a GET may make is the resume point, and only when it moves.
    course, engine = ref.course, request.app.state.engine
    state = await run_read(
        engine,
        lambda conn: progress_service.lesson_state(conn=conn, user_id=user.id, course_id=course.id),
    )
    if not _may_learn(course, user.agency_id, state):
        raise HTTPException(404)
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
            "progress": courses_service.course_progress(course, done),
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
    return shells.render(
        request,
        "learning/lesson.html",
        {"course": course, "ref": ref, "next_url": request.url.path},
        key=(course.version_id, ref.lesson.id),
        slots={"status_slot": status, "notice_slot": notice},
    )


def _year_jp(request: Request, session: Session, user: Any) -> dict[str, Any]:
    """This year's JP for "my learning" and the completion page: earned, and the figure they
    stand against: a PNS's yearly minimum, or a PPPK's contract-year ceiling (PP 49/2018
    Pasal 40 ayat (1): a ceiling, not a target)."""
    settings = request.app.state.settings
    year = clock.local_now(settings.tz).year
    pppk = user.employment_type == "PPPK"
    target = settings.jp_ceiling_pppk if pppk else settings.jp_target
    earned = progress_service.jp_earned(
        session=session, user_id=user.id, year=year, zone=settings.tz
    )
    return {
        "year": year,
        "jp_earned": earned,
        "jp_target": target,
        "pppk": pppk,
        "jp_percent": min(100, round(100 * earned / target)),
    }


@router.get("/courses/{course_id}/completed")
def completed_page(
    request: Request, session: SessionDep, user: CurrentUser, course: LiveCourse, attempt: str = ""
) -> Response:
    """The moment a course is finished: when, the JP recorded (and the year's total against
    the target), and the certificate: ready (download, the verification page to share) or
    being prepared (the page refreshes itself until the worker has issued it)."""
    completion = progress_service.completion(session=session, user_id=user.id, course_id=course.id)
    if completion is None:
        return RedirectResponse(f"/courses/{course.id}", status_code=303)
    settings = request.app.state.settings
    # The job's state first, then the certificate: the other order misses a certificate the
    # worker issues between the two reads (no certificate yet, and no job left to wait for).
    state = next(
        (
            s
            for owed, s in certificates_service.owed_to(session=session, user_id=user.id)
            if owed.course_id == course.id
        ),
        None,
    )
    certificate = certificates_service.current(
        session=session, user_id=user.id, course_id=course.id
    )
    if certificate is not None:
        state = None
    # the quiz whose hand-in completed the course, when it is the learner's own
    last = quizzes_service.get_attempt(session=session, attempt_id=attempt) if attempt else None
    quiz = None
    if last is not None and last.user_id == user.id and last.course_id == course.id:
        found = course.quiz(last.quiz_id)
        quiz = found[1] if found else None
    plan_view = plans_service.get(session=session, user_id=user.id, course_id=course.id)
    # self-assessments never block completion: the page offers those not taken yet, except an
    # opening one a follow-up is compared with (taken after the course it is no starting point)
    pair = course.content.self_assessment_pair()
    opening = pair[0].id if pair and pair[1].kind == "follow_up" else None
    untaken = [
        quiz
        for module in course.content.modules
        for quiz in module.quizzes
        if quiz.kind == "self_assessment"
        and quiz.id != opening
        and not any(
            a.submitted_at is not None
            for a in quizzes_service.attempts(
                session=session, user_id=user.id, course_id=course.id, quiz_id=quiz.id
            )
        )
    ]
    return render(
        request,
        "learning/completed.html",
        {
            "course": course,
            "untaken": untaken,
            "last": last if quiz else None,
            "quiz": quiz,
            "completion": completion,
            "certificate": certificate,
            "certificate_status": certificates_service.status(certificate) if certificate else None,
            "verify_url": (
                certificates_service.verify_url(settings.base_url, certificate)
                if certificate
                else None
            ),
            "owed_state": state,
            "unverified": not accounts_service.is_verified(session=session, user_id=user.id),
            "plan_view": plan_view,
            "after": facts.after_course(session, settings, user.id, course, plan_view),
            **_year_jp(request, session, user),
        },
    )


@router.get("/me/learning")
def my_learning(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    settings = request.app.state.settings
    catalogue = request.app.state.catalogue
    items = []
    for summary in progress_service.enrollments(session=session, user_id=user.id):
        course = catalogue.get(summary.course_id)
        if course is None:
            continue
        done = progress_service.done_lessons(session=session, user_id=user.id, course_id=course.id)
        resume = courses_service.resume_lesson(course, summary.last_lesson_id, done)
        passed = (
            set()
            if summary.completed_at
            else quizzes_service.passed_quiz_ids(
                session=session,
                user_id=user.id,
                course_id=course.id,
                quizzes=rules.graded_quizzes(course),
            )
        )
        plan_view = (
            plans_service.get(session=session, user_id=user.id, course_id=course.id)
            if course.content.plan is not None
            else None
        )
        left = rules.remaining(course, done, passed, plan_view is not None)
        items.append(
            {
                "course": course,
                "progress": courses_service.course_progress(course, done),
                "resume": course.lesson(resume) if resume else None,
                "completed_at": summary.completed_at,
                "due_on": summary.due_on,
                "left": None if summary.completed_at else left,
                "plan_view": plan_view,
                "after": facts.after_course(session, settings, user.id, course, plan_view),
            }
        )
    return render(
        request,
        "learning/my_learning.html",
        {
            "items": items,
            "today": clock.today(settings.tz),
            **_year_jp(request, session, user),
            # a welcome until the first course is started: what to do first
            "welcome": []
            if items
            else [c for c in catalogue.courses() if c.offered(user.agency_id)],
            "unverified": not items
            and not accounts_service.is_verified(session=session, user_id=user.id),
        },
    )


# ---- learning events -------------------------------------------------------------------------


def _status_response(request: Request, session: Session, user_id: int, ref: LessonRef) -> Response:
    course = ref.course
    state = progress_service.lesson_state(
        conn=session.connection(), user_id=user_id, course_id=course.id
    )
    context = {
        "course": course,
        "ref": ref,
        "is_done": ref.lesson.id in state.done,
        "progress": courses_service.course_progress(course, state.done),
        "course_completed": state.completed,
    }
    return render(request, "_partials/lesson_status.html", context)


@router.get("/courses/{course_id}/lessons/{lesson_id}/status")
def lesson_status(
    request: Request, session: SessionDep, user: CurrentUser, ref: LiveLesson
) -> Response:
    """The status part of a lesson page (done or not, the course's progress, what comes
    next): a page shown from the device's offline copy asks for it, so that what the learner
    sees is the server's truth."""
    _offered_or_404(session, ref.course, user)
    return _status_response(request, session, user.id, ref)


@router.post("/courses/{course_id}/lessons/{lesson_id}/done")
def lesson_done(
    request: Request, session: SessionDep, user: CurrentUser, course: LiveCourse, lesson_id: str
) -> Response:
    _offered_or_404(session, course, user)
    live = course.lesson(lesson_id)
    # a lesson the live version removed (a page of the learner's version, or a mark queued
    # offline): accepted against the version that had it
    ref = live or request.app.state.catalogue.lesson_in_history(course.id, lesson_id)
    if ref is None:
        raise HTTPException(404)
    outcome = workflow.lesson_done(
        session=session,
        user_id=user.id,
        course=course,
        lesson_id=lesson_id,
        version_id=None if live else ref.course.version_id,
    )
    if outcome.completed_now:  # the moment: its own page, with and without JavaScript
        url = f"/courses/{course.id}/completed"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)
    if is_htmx(request):
        return _status_response(request, session, user.id, ref)
    marked = f"?marked={ref.lesson.id}"  # the next page confirms it (no JavaScript here)
    if ref.after is None or live is None:
        return RedirectResponse(f"/courses/{course.id}{marked}", status_code=303)
    if ref.after.kind == "quiz":  # the module's quiz comes next: this page says so, and links it
        return RedirectResponse(_lesson_url(course.id, ref.lesson.id) + marked, status_code=303)
    return RedirectResponse(ref.after.url + marked, status_code=303)


@router.post("/courses/{course_id}/lessons/{lesson_id}/undone")
def lesson_undone(
    request: Request, session: SessionDep, user: CurrentUser, ref: LiveLesson
) -> Response:
    course = ref.course
    _offered_or_404(session, course, user)
    workflow.lesson_undone(session=session, user_id=user.id, course=course, lesson_id=ref.lesson.id)
    if is_htmx(request):
        return _status_response(request, session, user.id, ref)
    return RedirectResponse(_lesson_url(course.id, ref.lesson.id), status_code=303)


@router.post("/courses/{course_id}/quizzes/{quiz_id}/start")
def start_attempt(
    request: Request, session: SessionDep, user: CurrentUser, ref: LiveQuiz
) -> Response:
    quiz_url = f"/courses/{ref.course.id}/quizzes/{ref.quiz.id}"
    if not ref.course.offered(user.agency_id) and not quizzes_service.attempts(
        session=session, user_id=user.id, course_id=ref.course.id, quiz_id=ref.quiz.id
    ):
        _offered_or_404(session, ref.course, user)  # began its lessons before it was narrowed
    opens_at = quizzes_service.follow_up_opens(
        session=session,
        user_id=user.id,
        course_id=ref.course.id,
        quiz=ref.quiz,
        days=request.app.state.settings.follow_up_days,
    )
    if opens_at is not None and opens_at > clock.utcnow():
        return RedirectResponse(quiz_url, status_code=303)  # the page says when it opens
    try:
        attempt = workflow.start_attempt(
            session=session,
            user_id=user.id,
            course=ref.course,
            quiz=ref.quiz,
            catalogue=request.app.state.catalogue,
        )
    except quizzes_service.AttemptsExhausted:
        return RedirectResponse(quiz_url, status_code=303)
    return RedirectResponse(_attempt_url(attempt.id), status_code=303)


@router.post("/attempts/{attempt_id}/submit")
async def submit_attempt(
    request: Request, deferred: LoggedInLater, form: RawForm, attempt_id: str
) -> Response:
    """Save what the page carries, then hand in once (a double click gets the same result);
    one thread-pool hop for the whole of it."""

    def work() -> str | None:
        """The course's id when this hand-in completed it."""
        engine = request.app.state.engine
        with Session(engine, expire_on_commit=False) as session:
            _user, ref = resolve_own_attempt(request, deferred, session.connection(), attempt_id)
            if ref.attempt.submitted_at is not None:
                return None

            def record_answers(tx: Session) -> None:
                # time is up: what was saved before counts
                with contextlib.suppress(quizzes_service.AttemptClosed):
                    quizzes_service.record_form(
                        session=tx, attempt=ref.attempt, quiz=ref.quiz, form=form
                    )

            outcome = workflow.hand_in(
                session=session,
                attempt=ref.attempt,
                catalogue=request.app.state.catalogue,
                record_answers=record_answers,
            )
            return ref.course.id if outcome.completed_now else None

    completed = await run_in_threadpool(work)
    url = _attempt_url(attempt_id, "/result")
    if completed:  # the moment: the completion page, which links this quiz's result too
        url = f"/courses/{completed}/completed?attempt={attempt_id}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
