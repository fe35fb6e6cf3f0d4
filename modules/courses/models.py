"""Course structure synced from content, every content version seen, and content assets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow


class ContentVersion(SQLModel, table=True):
    """One valid version of a course; `snapshot` is the rendered course as JSON."""

    __tablename__ = "content_version"
    __table_args__ = (UniqueConstraint("course_id", "content_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    course_id: str = Field(max_length=64, index=True)
    version: str = Field(max_length=40)
    content_hash: str = Field(max_length=64)
    git_commit: str | None = Field(default=None, max_length=40)
    snapshot: str = Field(sa_column=Column(Text, nullable=False))
    loaded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Course(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    jp: int
    language: str = Field(max_length=5)
    position: int = 0
    current_version_id: int = Field(foreign_key="content_version.id")
    active: bool = True


class CourseModule(SQLModel, table=True):
    __tablename__ = "course_module"
    course_id: str = Field(foreign_key="course.id", primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    position: int
    active: bool = True


class Lesson(SQLModel, table=True):
    course_id: str = Field(foreign_key="course.id", primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=80)
    module_id: str = Field(max_length=64)
    title: str = Field(max_length=200)
    position: int
    minutes: int
    active: bool = True  # false once a newer content version drops the lesson


class ContentAsset(SQLModel, table=True):
    """Images and attachments, addressed by content hash so URLs can be cached forever."""

    __tablename__ = "content_asset"
    sha256: str = Field(primary_key=True, max_length=64)
    media_type: str = Field(max_length=100)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ContentCheck(SQLModel, table=True):
    """The outcome of the last sync of a course folder, for the health check and the log."""

    __tablename__ = "content_check"
    folder: str = Field(primary_key=True, max_length=200)
    course_id: str | None = Field(default=None, max_length=64)
    checked_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    error_count: int = 0
    errors: str = Field(default="", sa_column=Column(Text, nullable=False))
