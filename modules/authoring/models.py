"""Drafts of courses being written in the browser: one per course, its files (bytes kept as
the courses module's source files, by hash) and a revision number that stops two people
from overwriting each other."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel

from app.clock import utcnow


def _ts() -> Column:
    return Column(DateTime(timezone=True), nullable=False)


class CourseDraft(SQLModel, table=True):
    """The working copy of a course. Every change of its files raises `revision`; a save that
    names an older revision than the draft's is refused (someone else saved meanwhile)."""

    __tablename__ = "course_draft"
    course_id: str = Field(primary_key=True, max_length=64)
    folder: str = Field(max_length=64)  # the course's folder in the content directory
    revision: int = 1
    # the live version the draft was last in step with (started from, published, rolled back)
    base_version_id: int | None = Field(default=None, foreign_key="content_version.id")
    # started in the browser (its creator may author it); a draft opened from a published
    # course gives its opener no lasting right (their grants decide)
    started_here: bool = False
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_by: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    # a review asked for (the revision then) and a reviewer's approval of one revision: a
    # course whose publishing needs review publishes only the revision approved
    review_asked_revision: int | None = None
    review_asked_by: int | None = Field(default=None, foreign_key="user.id")
    approved_revision: int | None = None
    approved_by: int | None = Field(default=None, foreign_key="user.id")
    approved_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # JSON list of everyone who changed the draft since it was last in step with the live
    # version: none of them may approve it (four eyes)
    editors: str = Field(default="[]", sa_column=Column(Text, nullable=False))


class DraftFile(SQLModel, table=True):
    """One file of a draft: its path in the course folder and the hash of its bytes."""

    __tablename__ = "draft_file"
    course_id: str = Field(foreign_key="course_draft.course_id", primary_key=True, max_length=64)
    path: str = Field(primary_key=True, max_length=300)
    sha256: str = Field(max_length=64)
    size: int
