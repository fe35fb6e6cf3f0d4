"""Who may author which course: resolved once per request, 403 for a course outside the
person's scope (its existence is not hidden from trainers: course ids are public)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException

from app.auth import Principal, TrainerOrAdmin
from app.db import SessionDep
from modules.authoring import service


@dataclass(frozen=True)
class Author:
    user: Principal
    scope: service.Scope


def author(session: SessionDep, user: TrainerOrAdmin) -> Author:
    """A trainer or an admin, with the courses they may author."""
    return Author(user, service.scope(session=session, user_id=user.id))


AuthorDep = Annotated[Author, Depends(author)]


@dataclass(frozen=True)
class AuthoredCourse:
    """A course in the URL that the person may author: its draft (None before the first
    edit) and whether it is live."""

    author: Author
    course_id: str
    draft: service.CourseDraft | None
    live: bool


def authored_course(session: SessionDep, who: AuthorDep, course_id: str) -> AuthoredCourse:
    if len(course_id) > 64 or not who.scope.allows(course_id):
        raise HTTPException(403 if len(course_id) <= 64 else 404)
    draft = service.get(session, course_id)
    live = service.is_live(session, course_id)
    if draft is None and not live:
        raise HTTPException(404)
    return AuthoredCourse(who, course_id, draft, live)


AuthoredDep = Annotated[AuthoredCourse, Depends(authored_course)]


def drafted(course: AuthoredDep) -> AuthoredCourse:
    """An authored course that has a draft (404 before its first edit is started)."""
    if course.draft is None:
        raise HTTPException(404)
    return course


DraftedDep = Annotated[AuthoredCourse, Depends(drafted)]
