"""Export jobs: their state lives in the database so any server process can report progress
and serve the file (the files themselves lie in the shared export directory)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel

from app.clock import utcnow


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class ReportJob(SQLModel, table=True):
    """One export: queued, running (with rows done and a heartbeat), done (with the file) or
    failed (with the reason)."""

    __tablename__ = "report_job"
    id: str = Field(primary_key=True, max_length=32)  # unguessable: it appears in URLs
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(max_length=32)  # people, jp, siasn
    format: str = Field(max_length=8)  # csv, xlsx
    params: str = Field(sa_column=Column(Text, nullable=False))  # JSON: filters and scope
    status: str = Field(default="queued", max_length=12)
    rows_done: int = 0
    rows_total: int | None = None
    file_name: str | None = Field(default=None, max_length=200)
    file_size: int | None = None
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    started_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    heartbeat_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
