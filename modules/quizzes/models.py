"""Quiz attempts and their answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.clock import utcnow


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class QuizAttempt(SQLModel, table=True):
    """One attempt: the questions drawn (with option orders) are fixed at the start by a stored
    seed, against the content version then live."""

    __tablename__ = "quiz_attempt"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "quiz_id", "number"),
        # the worker's look for timed attempts that ran out: open ones only, by deadline
        Index(
            "ix_quiz_attempt_open_deadline",
            "deadline_at",
            sqlite_where=text("submitted_at IS NULL AND deadline_at IS NOT NULL"),
            postgresql_where=text("submitted_at IS NULL AND deadline_at IS NOT NULL"),
        ),
    )
    id: str = Field(primary_key=True, max_length=32)  # unguessable: it appears in URLs
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(foreign_key="course.id", max_length=64)
    quiz_id: str = Field(max_length=80)
    number: int
    content_version_id: int = Field(foreign_key="content_version.id")
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    layout: str = Field(sa_column=Column(Text, nullable=False))  # JSON: drawn questions
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    deadline_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    submitted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    score: float | None = None
    passed: bool | None = None


class QuizAnswer(SQLModel, table=True):
    """The latest answer to one question of an attempt, saved as it is given."""

    __tablename__ = "quiz_answer"
    attempt_id: str = Field(foreign_key="quiz_attempt.id", primary_key=True, max_length=32)
    question_id: str = Field(primary_key=True, max_length=80)
    value: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    score: float | None = None  # set when the attempt is graded (item statistics)
    saved_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    # The device (a random id the page keeps) and its sequence number for this question, sent
    # by the offline queue: an answer from the same device with a lower or equal number is
    # older than the one kept (a retry, or overtaken) and is acknowledged without writing.
    client_device: str | None = Field(default=None, max_length=32)
    client_seq: int | None = None
