"""Learner progress: enrolments with the resume point, lessons done, courses completed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow


def _ts() -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=False)


class Enrollment(SQLModel, table=True):
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    course_id: str = Field(foreign_key="course.id", primary_key=True, max_length=64, index=True)
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    last_lesson_id: str | None = Field(default=None, max_length=80)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class LessonProgress(SQLModel, table=True):
    """A lesson the learner marked as done, with the content version they read."""

    __tablename__ = "lesson_progress"
    __table_args__ = (
        ForeignKeyConstraint(["course_id", "lesson_id"], ["lesson.course_id", "lesson.id"]),
    )
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    course_id: str = Field(primary_key=True, max_length=64)
    lesson_id: str = Field(primary_key=True, max_length=80)
    content_version_id: int = Field(foreign_key="content_version.id")
    completed_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class CourseCompletion(SQLModel, table=True):
    """The moment a learner met the course's completion rule; JP are credited from it."""

    __tablename__ = "course_completion"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    course_id: str = Field(foreign_key="course.id", primary_key=True, max_length=64, index=True)
    content_version_id: int = Field(foreign_key="content_version.id")
    jp: int
    completed_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class LearningEvent(SQLModel, table=True):
    """A step a learner reached, recorded once: `quiz_passed`, `module_completed`,
    `course_completed`. Later features (certificates, reports) hang on these."""

    __tablename__ = "learning_event"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "kind", "subject"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(foreign_key="course.id", max_length=64)
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=80)  # the quiz, module or course id
    content_version_id: int = Field(foreign_key="content_version.id")
    score: float | None = None
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())
