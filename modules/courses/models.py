"""Course structure synced from content, every content version seen (with its source files),
every change of a course's live version, and content assets."""

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
    # the course folder's files as JSON {relative path: sha256 of a SourceFile}: what a draft
    # starts from, what a diff compares, what a rollback writes back to disk (None: stored
    # before sources were kept, filled in by the next sync of the same files)
    files: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
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


class SourceFile(SQLModel, table=True):
    """The bytes of one file of a course's source (markdown, images, attachments), addressed
    by content hash: versions and drafts that share a file share its row. Never served to
    learners as is (published assets are ContentAsset rows)."""

    __tablename__ = "source_file"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Publication(SQLModel, table=True):
    """One change of a course's live version: a sync from disk, a publish from the browser or
    a rollback, with who made it (none for a sync), when, and a summary of what changed."""

    __tablename__ = "publication"
    id: int | None = Field(default=None, primary_key=True)
    course_id: str = Field(max_length=64, index=True)
    version_id: int = Field(foreign_key="content_version.id")
    previous_version_id: int | None = Field(default=None, foreign_key="content_version.id")
    action: str = Field(max_length=20)  # sync, publish, rollback
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    # JSON: files, lessons and questions added, removed and changed (see service.summarise)
    summary: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # what became of the copy on disk (authoring's mirror job): written, committed, or why not
    disk_note: str = Field(default="", max_length=300)


class CourseAccess(SQLModel, table=True):
    """Who owns a course and who sees it: an agency's course (or a national one, no owner),
    offered to every agency or to those the owner chose; whether a reviewer must approve each
    publish (always, for an accredited course). A course without a row is national, offered to
    everyone, published without review (courses synced from disk start so)."""

    __tablename__ = "course_access"
    course_id: str = Field(primary_key=True, max_length=64)
    owner_agency_id: int | None = Field(default=None, foreign_key="agency.id")
    # JSON list of agency ids offered the course besides the owner; None: every agency
    agencies: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    review: bool = False
    accredited: bool = False
