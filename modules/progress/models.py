"""Learner progress: enrolments with the resume point, lessons done, courses completed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow


def _ts() -> Column:
    return Column(DateTime(timezone=True), nullable=False)


class Enrollment(SQLModel, table=True):
    """A learner on a course: joined by opening it, or assigned by HR with a due date. The
    learner has started once they opened a lesson (`last_lesson_id`)."""

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    course_id: str = Field(foreign_key="course.id", primary_key=True, max_length=64, index=True)
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts())  # enrolled at
    last_lesson_id: str | None = Field(default=None, max_length=80)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    assigned_by: int | None = Field(default=None, foreign_key="user.id")
    assigned_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    due_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class CourseAssignment(SQLModel, table=True):
    """HR assigned a course to a group (an agency, one of its units, or the people of an
    uploaded roster) with a due date; the group's enrollments carry the due date."""

    __tablename__ = "course_assignment"
    id: int | None = Field(default=None, primary_key=True)
    course_id: str = Field(foreign_key="course.id", max_length=64)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    work_unit: str | None = Field(default=None, max_length=200)
    roster_upload_id: str | None = Field(
        default=None, foreign_key="roster_upload.id", ondelete="SET NULL", max_length=32
    )
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    people: int = 0  # enrollments made or updated when it was given
    assigned_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


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
    """A step a learner reached, recorded once: `quiz_passed`, `quiz_handed_in` (a pre-test
    or survey, whose hand-in is what completion asks), `module_completed`,
    `course_completed`. Later features (certificates, reports) hang on these."""

    __tablename__ = "learning_event"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "kind", "subject"),
        # Module completion in reports: per person of an agency, or a whole course by kind,
        # answered from the index alone (`at` included for the period filter).
        Index(
            "ix_learning_event_course_id_kind_user_id",
            "course_id",
            "kind",
            "user_id",
            "subject",
            "at",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(foreign_key="course.id", max_length=64)
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=80)  # the quiz, module or course id
    content_version_id: int = Field(foreign_key="content_version.id")
    score: float | None = None
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class AssignmentReminder(SQLModel, table=True):
    """A due-date reminder mailed to a learner (a week before, a day before, overdue): written
    with the mail in one transaction, so each is sent once per due date."""

    __tablename__ = "assignment_reminder"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    course_id: str = Field(foreign_key="course.id", primary_key=True, max_length=64)
    due_on: date = Field(sa_column=Column(Date, primary_key=True))
    kind: str = Field(primary_key=True, max_length=10)  # week, day, overdue
    sent_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
