"""Pages: a quiz's start page, an attempt (answers saved as given), its result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth import CurrentUser
from app.clock import as_utc, utcnow
from app.db import SessionDep, autocommit, write_lock
from app.forms import RawForm
from app.templating import render
from modules.accounts import service as accounts_service
from modules.accounts.dependencies import LoggedInLater
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
    # None: every course
    courses = accounts_service.trainer_courses(session=session, user_id=user.id)
    trains = courses is None or ref.course.id in courses
    opens_at = service.follow_up_opens(
        session=session,
        user_id=user.id,
        course_id=ref.course.id,
        quiz=ref.quiz,
        days=request.app.state.settings.follow_up_days,
    )
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
            # a follow-up not open yet: when it opens (or "after the action plan")
            "closed": opens_at is not None and opens_at > utcnow(),
            "opens_at": opens_at,
            "follow_up_days": request.app.state.settings.follow_up_days,
        },
    )


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
    deadline = ref.attempt.deadline_at
    return render(
        request,
        "quizzes/attempt.html",
        {
            "ref": ref,
            "time_up": deadline is not None and utcnow() > as_utc(deadline),
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
    # Time up: the page only says so. The worker hands the attempt in on what was saved (the
    # learner may hand it in now); a page view never grades.
    return _page(request, session, ref, saved=request.query_params.get("saved") == "1")


CLOSED = "closed"


@router.post("/attempts/{attempt_id}/answers/{question_id}")
async def save_one(
    request: Request, deferred: LoggedInLater, form: RawForm, attempt_id: str, question_id: str
) -> Response:
    """htmx: save one question's answer the moment it is given. The most frequent quiz
    request: one thread-pool hop, two statements (the session with the attempt, then the
    answer) and no transaction around them, since the write is a single statement."""

    def work() -> str | None:
        engine = request.app.state.engine
        with write_lock(engine), autocommit(engine) as conn:
            _user, ref = resolve_own_attempt(request, deferred, conn, attempt_id)
            if question_id not in {d.id for d in service.layout(ref.attempt)}:
                raise HTTPException(404)
            question = next(q for q in ref.quiz.questions if q.id == question_id)
            value = forms.answer_from_form(question, form)
            if value is None:
                return None
            if value is forms.INCOMPLETE:
                return forms.NOT_ALL_PARTS
            device, seq = forms.queued(form)
            try:
                service.record_answer(
                    conn=conn,
                    attempt=ref.attempt,
                    quiz=ref.quiz,
                    question_id=question_id,
                    value=value,
                    device=device,
                    seq=seq,
                )
            except service.AnswerInvalid:
                return forms.UNREADABLE
            except service.AttemptClosed:
                counted = service.already_counted(
                    conn=conn,
                    attempt_id=ref.attempt.id,
                    question_id=question_id,
                    device=device,
                    seq=seq,
                )
                return None if counted else CLOSED  # a copy the hand-in carried: saved
            return None

    problem = await run_in_threadpool(work)
    if problem == CLOSED:
        # the server judges time and attempts: an answer arriving after the attempt closed
        # (a queued one, sent when the connection returned) is refused, and says so
        return render(request, "_partials/answer_saved.html", {"closed": True}, status_code=409)
    return render(
        request,
        "_partials/answer_saved.html",
        {"problem": problem, "incomplete": problem == forms.NOT_ALL_PARTS},
        status_code=422 if problem and problem != forms.NOT_ALL_PARTS else 200,
    )


def _save_page(
    request: Request, session: SessionDep, ref: AttemptRef, form: Any, then: str, closed: str
) -> Response:
    """Without JavaScript: save every answer the page carries, then go to `then` (to `closed`
    when the attempt closed meanwhile); the page again, with the problems, if some answer
    could not be saved."""
    try:
        with write_lock(request.app.state.engine):
            problems = service.record_form(
                session=session, attempt=ref.attempt, quiz=ref.quiz, form=form
            )
            session.commit()
    except service.AttemptClosed:
        session.rollback()
        return RedirectResponse(_attempt_url(ref.attempt.id, closed), status_code=303)
    if any(p != forms.NOT_ALL_PARTS for p in problems.values()):
        return _page(request, session, ref, status=422, problems=problems)
    return RedirectResponse(_attempt_url(ref.attempt.id, then), status_code=303)


@router.post("/attempts/{attempt_id}/save")
def save_all(request: Request, session: SessionDep, ref: OwnAttempt, form: RawForm) -> Response:
    """Without JavaScript: save every answer on the page and come back to it."""
    return _save_page(request, session, ref, form, then="?saved=1", closed="")


@router.post("/attempts/{attempt_id}/hand-in")
def hand_in_ask(request: Request, session: SessionDep, ref: OwnAttempt, form: RawForm) -> Response:
    """Without JavaScript, "Hand in" comes here first: save what the page carries, then ask
    (the next page names the questions left unanswered and hands in only when confirmed; when
    time is up, what was saved counts and that page says so)."""
    return _save_page(request, session, ref, form, then="/hand-in", closed="/hand-in")


@router.get("/attempts/{attempt_id}/hand-in")
def hand_in_page(request: Request, session: SessionDep, ref: OwnAttempt) -> Response:
    """The plain-form confirmation: how many questions are answered, which are not (linked
    back to the question), what handing in means; "Hand in" posts to the submit route."""
    if ref.attempt.submitted_at is not None:
        return RedirectResponse(_attempt_url(ref.attempt.id, "/result"), status_code=303)
    answers = service.answers(session=session, attempt_id=ref.attempt.id)
    drawn = service.layout(ref.attempt)
    unanswered = [
        {"n": number, "anchor": forms.field(d.id)}
        for number, d in enumerate(drawn, start=1)
        if d.id not in answers
    ]
    deadline = ref.attempt.deadline_at
    return render(
        request,
        "quizzes/hand_in.html",
        {
            "ref": ref,
            "total": len(drawn),
            "unanswered": unanswered,
            "time_up": deadline is not None and utcnow() > as_utc(deadline),
        },
    )


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
    pair = ref.course.content.self_assessment_pair()
    # the follow-up (or the last) is compared with the opening one, and the other way round
    others = [q for q in pair or () if q.id != ref.quiz.id] if pair and ref.quiz in pair else []
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
