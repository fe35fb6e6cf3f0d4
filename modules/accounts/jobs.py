"""Background work of accounts: retention of uploaded roster files, HR's invitations."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col

from app.clock import utcnow
from app.jobs import Handler, JobContext, Schedule
from modules.accounts import grants, invitations, roster_uploads
from modules.accounts.models import AccountLink, AuthSession, NipDispute

log = logging.getLogger("berakhlak.accounts")


def purge_rosters(ctx: JobContext) -> None:
    """Delete roster uploads (the people's data they carry) once their day is over."""
    roster_uploads.purge(session=ctx.session)


def invite(ctx: JobContext) -> None:
    """Send the invitations an HR officer asked for, within the scope they hold now."""
    officer = int(ctx.payload["officer_id"])
    scope = grants.hr_scope(session=ctx.session, user_id=officer)
    if scope.empty:
        return  # the officer lost their grants meanwhile: nobody is invited in their name
    counts = invitations.send_many(
        session=ctx.session, settings=ctx.state.settings, scope=scope, payload=ctx.payload
    )
    log.info("invitations asked by user %s: %s", officer, counts)


LINKS_KEPT = timedelta(days=30)  # a used or expired mailed link, kept this long for questions


def retention(ctx: JobContext) -> None:
    """Delete what has served its purpose: expired logins, mailed links a month past their
    end (but invitations), disputes never confirmed a month after they were filed."""
    now = utcnow()
    ctx.session.execute(delete(AuthSession).where(col(AuthSession.expires_at) < now))
    ctx.session.execute(  # invitations stay: HR's page tells "invited" from them
        delete(AccountLink).where(
            col(AccountLink.expires_at) < now - LINKS_KEPT, col(AccountLink.purpose) != "invite"
        )
    )
    ctx.session.execute(
        delete(NipDispute).where(
            col(NipDispute.status) == "unconfirmed",
            col(NipDispute.created_at) < now - LINKS_KEPT,
        )
    )


HANDLERS = {
    "accounts.retention": Handler(retention),
    "roster.purge": Handler(purge_rosters),
    invitations.INVITE_JOB: Handler(invite, transactional=False),
}
SCHEDULES = [
    Schedule("roster.purge", timedelta(hours=1), "roster.purge"),
    Schedule("accounts.retention", timedelta(days=1), "accounts.retention"),
]
