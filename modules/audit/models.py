"""The audit trail: who did what to whose record, when, and from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel

from app.clock import utcnow


class AuditEvent(SQLModel, table=True):
    """One action by a person (or the command line, `actor_id` None) on a record."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    action: str = Field(max_length=60)  # e.g. certificate.revoke
    subject_type: str = Field(max_length=40)  # e.g. certificate
    subject_id: str = Field(max_length=80, index=True)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    address: str = Field(default="", max_length=64)  # client address, or "cli"


class AuditScope(SQLModel, table=True):
    """Whose records a report view could show: one row per agency (or agency and work unit)
    the viewer's scope and filters covered, `agency_id` None for every agency. A view of
    250,000 people is one event and a few of these, and "who viewed my records" is resolved
    from them (docs/privacy.md)."""

    __tablename__ = "audit_scope"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="audit_event.id", index=True)
    agency_id: int | None = Field(default=None, index=True)
    work_unit: str | None = Field(default=None, max_length=200)  # lower case; None: all
