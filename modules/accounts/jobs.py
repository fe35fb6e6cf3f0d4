"""Background work of accounts: retention of uploaded roster files."""

from __future__ import annotations

from datetime import timedelta

from app.jobs import Handler, JobContext, Schedule
from modules.accounts import roster_uploads


def purge_rosters(ctx: JobContext) -> None:
    """Delete roster uploads (the people's data they carry) once their day is over."""
    roster_uploads.purge(session=ctx.session)


HANDLERS = {"roster.purge": Handler(purge_rosters)}
SCHEDULES = [Schedule("roster.purge", timedelta(hours=1), "roster.purge")]
