"""Pages: a quiz's start page, an attempt (answers saved as given), its result."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.clock import as_utc, utcnow
from app.db import SessionDep, write_lock
from app.forms import RawForm
from app.i18n import N_
from app.templating import is_htmx, render
from modules.accounts import grants
from modules.accounts.dependencies import CurrentUser, LoggedInLater
from modules.progress import flows as progress_flows
from modules.quizzes import forms, grading, service, statistics
from modules.quizzes.dependencies import (
    AttemptRef,
    LiveQuiz,
    OwnAttempt,
    TrainedQuiz,
    resolve_own_attempt,
)

router = APIRouter()


def _attempt_url(attempt_id: str, page: str = "") -> str:
    return f"/attempts/{attempt_id}{page}"


@router.get("/courses/{course_id}/quizzes/{quiz_id}")
def quiz_page(request: Request, session: SessionDep, user: CurrentUser, ref: LiveQuiz) -> Response:
    history = service.attempts(
        session=session, user_id=user.id, course_id=ref.course.id, quiz_id=ref.quiz.id
    )
    current = next((a for a in history if a.submitted_at is None), None)
    done = [a for a in history if a.submitted_at is not None]
    left = None if not ref.quiz.attempts else max(0, ref.quiz.attempts - len(done))
    standing = service.standing(
        session=session, user_id=user.id, course_id=ref.course.id, quiz=ref.quiz
    )
    courses = grants.trainer_courses(session=session, user_id=user.id)  # None: every course
    trains = courses is None or ref.course.id in courses
    return render(
        request,
        "quizzes/quiz.html",
        {
            "ref": ref,
            "history": done,
            "current": current,
            "left": left,
            "standing": standing,
            "trains": trains,
        },
    )


@router.post("/courses/{course_id}/quizzes/{quiz_id}/start")
def start_attempt(session: SessionDep, user: CurrentUser, ref: LiveQuiz) -> Response:
    try:
        attempt = service.start(
            session=session,
            user_id=user.id,
            course_id=ref.course.id,
            version_id=ref.course.version_id,
            quiz=ref.quiz,
        )
    except service.AttemptsExhausted:
        return RedirectResponse(f"/courses/{ref.course.id}/quizzes/{ref.quiz.id}", status_code=303)
    return RedirectResponse(_attempt_url(attempt.id), status_code=303)


def _page(
    request: Request,
    session: SessionDep,
    ref: AttemptRef,
    *,
    status: int = 200,
    problems: dict[str, str] | None = None,
    saved: bool = False,
) -> Response:
    by_id = {q.id: q for q in ref.quiz.questions}
    answers = service.answers(session=session, attempt_id=ref.attempt.id)
    items = []
    for number, drawn in enumerate(service.layout(ref.attempt), start=1):
        question = by_id[drawn.id]
        items.append(
            {
                "n": number,
                "q": question,
                "order": drawn.options,
                "values": forms.form_values(question, answers.get(question.id)),
                "answered": question.id in answers,
            }
        )
    return render(
        request,
        "quizzes/attempt.html",
        {
            "ref": ref,
            "items": items,
            "problems": problems or {},
            "saved": saved,
            "answered": sum(1 for i in items if i["answered"]),
            "field": forms.field,
        },
        status_code=status,
    )


@router.get("/attempts/{attempt_id}")
def attempt_page(request: Request, session: SessionDep, ref: OwnAttempt) -> Response:
    if ref.attempt.submitted_at is not None:
        return RedirectResponse(_attempt_url(ref.attempt.id, "/result"), status_code=303)
    if ref.attempt.deadline_at is not None and utcnow() > as_utc(ref.attempt.deadline_at):
        service.submit(session=session, attempt_id=ref.attempt.id, quiz=ref.quiz)
        return RedirectResponse(_attempt_url(ref.attempt.id, "/result"), status_code=303)
    return _page(request, session, ref, saved=request.query_params.get("saved") == "1")


CLOSED = "closed"
INCOMPLETE = N_("Not saved yet: answer every part of this question.")
UNREADABLE = N_("This answer could not be read. Choose again.")


def _save_form(
    session: SessionDep, ref: AttemptRef, form: Any, only: str | None = None
) -> dict[str, str]:
    """Save every answer the form carries (the caller commits); return the questions whose
    answer was refused."""
    problems: dict[str, str] = {}
    by_id = {q.id: q for q in ref.quiz.questions}
    for drawn in service.layout(ref.attempt):
        if only is not None and drawn.id != only:
            continue
        value = forms.answer_from_form(by_id[drawn.id], form)
        if value is None:
            continue
        if value is forms.INCOMPLETE:
            problems[drawn.id] = INCOMPLETE
            continue
        try:
            service.record_answer(
                conn=session.connection(),
                attempt=ref.attempt,
                quiz=ref.quiz,
                question_id=drawn.id,
                value=value,
            )
        except service.AnswerInvalid:
            problems[drawn.id] = UNREADABLE
    return problems


@router.post("/attempts/{attempt_id}/answers/{question_id}")
async def save_one(
    request: Request, deferred: LoggedInLater, form: RawForm, attempt_id: str, question_id: str
) -> Response:
    """htmx: save one question's answer the moment it is given. The most frequent quiz
    request: one thread-pool hop, two statements (the session with the attempt, then the
    answer) and no transaction around them, since the write is a single statement."""

    def work() -> str | None:
        engine = request.app.state.engine
        with write_lock(engine), engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            _user, ref = resolve_own_attempt(request, deferred, conn, attempt_id)
            if question_id not in {d.id for d in service.layout(ref.attempt)}:
                raise HTTPException(404)
            question = next(q for q in ref.quiz.questions if q.id == question_id)
            value = forms.answer_from_form(question, form)
            if value is None:
                return None
            if value is forms.INCOMPLETE:
                return INCOMPLETE
            try:
                service.record_answer(
                    conn=conn,
                    attempt=ref.attempt,
                    quiz=ref.quiz,
                    question_id=question_id,
                    value=value,
                )
            except service.AnswerInvalid:
                return UNREADABLE
            except service.AttemptClosed:
                return CLOSED
            return None

    problem = await run_in_threadpool(work)
    if problem == CLOSED:
        return Response(
            status_code=204, headers={"HX-Redirect": _attempt_url(attempt_id, "/result")}
        )
    return render(
        request,
        "_partials/answer_saved.html",
        {"problem": problem, "incomplete": problem == INCOMPLETE},
        status_code=422 if problem and problem != INCOMPLETE else 200,
    )


@router.post("/attempts/{attempt_id}/save")
def save_all(request: Request, session: SessionDep, ref: OwnAttempt, form: RawForm) -> Response:
    """Without JavaScript: save every answer on the page and come back to it."""
    try:
        problems = _save_form(session, ref, form)
        session.commit()
    except service.AttemptClosed:
        return RedirectResponse(_attempt_url(ref.attempt.id, "/result"), status_code=303)
    if any(p != INCOMPLETE for p in problems.values()):
        return _page(request, session, ref, status=422, problems=problems)
    return RedirectResponse(_attempt_url(ref.attempt.id, "?saved=1"), status_code=303)


@router.post("/attempts/{attempt_id}/submit")
async def submit_attempt(
    request: Request, deferred: LoggedInLater, form: RawForm, attempt_id: str
) -> Response:
    """Save what the page carries, then grade once (a double click gets the same result);
    one thread-pool hop for the whole of it."""

    def work() -> None:
        engine = request.app.state.engine
        with write_lock(engine), Session(engine, expire_on_commit=False) as session:
            user, ref = resolve_own_attempt(request, deferred, session.connection(), attempt_id)
            if ref.attempt.submitted_at is not None:
                return
            with contextlib.suppress(service.AttemptClosed):  # time is up: saved answers count
                _save_form(session, ref, form)
            done = service.submit(
                session=session,
                attempt_id=ref.attempt.id,
                quiz=ref.quiz,
                attempt=ref.attempt,
                commit=False,
            )
            live = request.app.state.catalogue.get(ref.course.id) or ref.course
            # commits the grading and what it completes together
            progress_flows.quiz_submitted(
                session=session,
                user_id=user.id,
                course=live,
                quiz_id=ref.quiz.id,
                score=done.score,
                passed=done.passed,
                policy=request.app.state.certificate_policy,
            )

    await run_in_threadpool(work)
    url = _attempt_url(attempt_id, "/result")
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/courses/{course_id}/quizzes/{quiz_id}/statistics")
def quiz_statistics(request: Request, session: SessionDep, ref: TrainedQuiz) -> Response:
    """For trainers and admins: how each question of the bank performs."""
    count, items = statistics.item_statistics(
        session=session, course_id=ref.course.id, quiz=ref.quiz
    )
    return render(request, "quizzes/statistics.html", {"ref": ref, "count": count, "items": items})


@router.get("/attempts/{attempt_id}/result")
def attempt_result(request: Request, session: SessionDep, ref: OwnAttempt) -> Response:
    if ref.attempt.submitted_at is None:
        return RedirectResponse(_attempt_url(ref.attempt.id), status_code=303)
    by_id = {q.id: q for q in ref.quiz.questions}
    answers = service.answers(session=session, attempt_id=ref.attempt.id)
    review = set(ref.quiz.review)
    items = []
    for number, drawn in enumerate(service.layout(ref.attempt), start=1):
        question = by_id[drawn.id]
        answer = answers.get(question.id)
        items.append(
            {
                "n": number,
                "q": question,
                "order": drawn.options,
                "answer": answer,
                "score": grading.score(question, answer),
            }
        )
    comparison = _self_assessment_change(session, ref) if ref.quiz.self_assessment else []
    return render(
        request,
        "quizzes/result.html",
        {"ref": ref, "items": items, "review": review, "comparison": comparison},
    )


def _self_assessment_change(session: Session, ref: AttemptRef) -> list[dict[str, Any]]:
    """Per tag (value): this self-assessment's mean next to the course's other one(s), so a
    learner sees how their view of their own behaviour moved."""
    mine = service.likert_means(
        session=session, user_id=ref.attempt.user_id, course_id=ref.course.id, quiz=ref.quiz
    )
    others = [
        q
        for m in ref.course.content.modules
        for q in m.quizzes
        if q.self_assessment and q.id != ref.quiz.id
    ]
    rows = []
    for other in others:
        theirs = service.likert_means(
            session=session, user_id=ref.attempt.user_id, course_id=ref.course.id, quiz=other
        )
        for tag in mine:
            if tag in theirs:
                rows.append(
                    {
                        "tag": tag,
                        "other": other.title,
                        "before": theirs[tag],
                        "now": mine[tag],
                        "change": round(mine[tag] - theirs[tag], 2),
                    }
                )
    return rows
