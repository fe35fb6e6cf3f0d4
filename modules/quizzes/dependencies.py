"""Load the quiz or the attempt a URL names, or answer 404 (another learner's attempt too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from app.db import SessionDep
from modules.accounts.dependencies import CurrentUser
from modules.courses.schemas import ModuleContent
from modules.courses.service import CourseView
from modules.quizzes.models import QuizAttempt
from modules.quizzes.schemas import QuizContent


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
    course = request.app.state.catalogue.version(attempt.content_version_id)
    found = course.quiz(attempt.quiz_id) if course else None
    if course is None or found is None:
        raise HTTPException(404)
    return AttemptRef(attempt, course, *found)


def own_attempt(
    request: Request, session: SessionDep, user: CurrentUser, attempt_id: str
) -> AttemptRef:
    """The learner's own attempt (see load_own_attempt)."""
    return load_own_attempt(request, session, user.id, attempt_id)


OwnAttempt = Annotated[AttemptRef, Depends(own_attempt)]
