"""Load the quiz or the attempt a URL names, or answer 404 (another learner's attempt too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import and_, bindparam
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from app.auth import CurrentUser, Principal, TrainerOrAdmin
from app.db import SessionDep
from modules.accounts import service as accounts_service
from modules.accounts.dependencies import DeferredUser
from modules.courses.schemas import ModuleContent, QuizContent
from modules.courses.service import CourseView
from modules.quizzes import service
from modules.quizzes.models import QuizAttempt


@dataclass(frozen=True)
class QuizRef:
    course: CourseView
    module: ModuleContent
    quiz: QuizContent


async def live_quiz(request: Request, course_id: str, quiz_id: str) -> QuizRef:
    """The quiz in the URL, in the live version of its course."""
    catalogue = request.app.state.catalogue
    await catalogue.ensure_fresh()
    course = catalogue.cached(course_id)
    found = course.quiz(quiz_id) if course else None
    if course is None or found is None:
        raise HTTPException(404)
    return QuizRef(course, *found)


LiveQuiz = Annotated[QuizRef, Depends(live_quiz)]


@dataclass(frozen=True)
class AttemptRef:
    attempt: QuizAttempt
    course: CourseView  # at the version the attempt started on
    module: ModuleContent
    quiz: QuizContent


def load_own_attempt(
    request: Request, session: Session, user_id: int, attempt_id: str
) -> AttemptRef:
    """The learner's own attempt; anyone else's (or a made-up id) is simply not found."""
    attempt = session.get(QuizAttempt, attempt_id) if len(attempt_id) <= 32 else None
    if attempt is None or attempt.user_id != user_id:
        raise HTTPException(404)
    return attempt_ref(request, attempt)


def attempt_ref(request: Request, attempt: QuizAttempt | None) -> AttemptRef:
    """The attempt with the course version it started on and its quiz, or 404."""
    if attempt is None:
        raise HTTPException(404)
    course = request.app.state.catalogue.version(attempt.content_version_id)
    found = course.quiz(attempt.quiz_id) if course else None
    if course is None or found is None:
        raise HTTPException(404)
    return AttemptRef(attempt, course, *found)


# The session behind the cookie and the learner's own attempt in one round trip, for the
# hottest requests (saving an answer, handing in).
SESSION_AND_ATTEMPT = accounts_service.principal_select(
    *service.ATTEMPT_COLUMNS,
    outer_join=lambda user_id: (
        QuizAttempt,
        and_(col(QuizAttempt.id) == bindparam("attempt_id"), col(QuizAttempt.user_id) == user_id),
    ),
)


def resolve_own_attempt(
    request: Request, deferred: DeferredUser, conn: Connection, attempt_id: str
) -> tuple[Principal, AttemptRef]:
    """The logged-in user (or LoginRequired) and their attempt (or 404), in one query."""
    if len(attempt_id) > 32:
        raise HTTPException(404)
    user, extra = deferred.resolve_with(conn, SESSION_AND_ATTEMPT, {"attempt_id": attempt_id})
    return user, attempt_ref(request, service.attempt_from_row(extra))


def own_attempt(
    request: Request, session: SessionDep, user: CurrentUser, attempt_id: str
) -> AttemptRef:
    """The learner's own attempt (see load_own_attempt)."""
    return load_own_attempt(request, session, user.id, attempt_id)


OwnAttempt = Annotated[AttemptRef, Depends(own_attempt)]


def quiz_trainer(session: SessionDep, user: TrainerOrAdmin, ref: LiveQuiz) -> QuizRef:
    """The quiz in the URL, for an admin or a trainer of its course (403 for other trainers)."""
    courses = accounts_service.trainer_courses(session=session, user_id=user.id)
    if courses is not None and ref.course.id not in courses:
        raise HTTPException(403)
    return ref


TrainedQuiz = Annotated[QuizRef, Depends(quiz_trainer)]
