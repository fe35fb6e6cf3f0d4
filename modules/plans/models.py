"""Action plans (rencana aksi): what a learner means to do with the values after the course,
how it went when they report some weeks later, and what their supervisor says about it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class ActionPlan(SQLModel, table=True):
    """One learner's plan for one course: written as the course's last activity, reported on
    after `BERAKHLAK_PLAN_REPORT_DAYS`, confirmed (or not) by the supervisor the learner named,
    through a mailed link that expires."""

    __tablename__ = "action_plan"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(foreign_key="course.id", max_length=64, index=True)
    content_version_id: int = Field(foreign_key="content_version.id")
    written_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    supervisor_name: str | None = Field(default=None, max_length=120)
    supervisor_email: str | None = Field(default=None, max_length=254)
    # the worker's reminders, each sent once
    report_reminded_at: datetime | None = Field(default=None, sa_column=_ts(True))
    follow_up_reminded_at: datetime | None = Field(default=None, sa_column=_ts(True))
    # the learner's report on how it went
    reported_at: datetime | None = Field(default=None, sa_column=_ts(True))
    report_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    share_with_supervisor: bool = False
    # the supervisor's link (a SHA-256 of its token) and their answer
    supervisor_token_hash: str | None = Field(default=None, max_length=64, index=True)
    supervisor_link_expires_at: datetime | None = Field(default=None, sa_column=_ts(True))
    supervisor_mailed_at: datetime | None = Field(default=None, sa_column=_ts(True))
    supervisor_mails: int = 0  # links mailed for this plan: at most MAX_SUPERVISOR_MAILS
    # the address belongs to an active account of the learner's agency (not any mailbox)
    supervisor_on_roster: bool = False
    confirmed_at: datetime | None = Field(default=None, sa_column=_ts(True))
    supervisor_seen: bool | None = None  # the change was seen at work (True) or not yet
    supervisor_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ActionPlanItem(SQLModel, table=True):
    """One value the plan takes up: a concrete behaviour in the learner's own work, how it
    will be seen, by when; and later how it went."""

    __tablename__ = "action_plan_item"
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="action_plan.id", index=True, ondelete="CASCADE")
    position: int
    value_tag: str = Field(max_length=40)
    behaviour: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    outcome: str | None = Field(default=None, max_length=12)  # done | partly | not_yet
    outcome_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
