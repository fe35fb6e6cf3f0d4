"""Invitations: an account a roster made is claimed only through a link mailed to the address
the roster gave (docs/identity.md). HR sends them for an uploaded roster, a work unit or chosen
people (the worker composes the mails in pages), and sees who has claimed, who was invited and
whose mail failed; a person registering with a roster's NIP and its email is sent one too."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, literal, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app import jobs, mail, ratelimit
from app.clock import as_utc, utcnow
from modules.accounts import links
from modules.accounts.grants import Scope
from modules.accounts.models import AccountLink, User
from modules.agencies import service as agencies_service
from modules.audit import service as audit

log = logging.getLogger("berakhlak.accounts")

INVITE_JOB = "accounts.invite"
PER_PERSON_DAY = 3  # invitations to one person in a day, whoever asks
PER_ADDRESS_HOUR = 10  # invitations asked from one address (registering with a roster's NIP)
BULK_PER_OFFICER_HOUR = 20  # sends an HR officer may start in an hour
PAGE = 200  # people per transaction in the worker
NIP_CHUNK = 1000  # NIPs of a roster per query
STATES = ("claimed", "invited", "not_invited", "no_email")

SENT, CLAIMED, NO_EMAIL, INACTIVE, LIMITED = "sent", "claimed", "no_email", "inactive", "limited"


def _agency_name(session: Session, agency_id: int) -> str:
    agency = agencies_service.get(session=session, agency_id=agency_id)
    return agency.name if agency is not None else ""


def send(
    *,
    session: Session,
    settings: Any,
    user: User,
    by: int | None,
    address: str | None,
    seen_from: str = "",
) -> str:
    """Mail `user` a link to claim their account, in the caller's transaction (the caller
    commits). Returns what happened: sent, claimed (nothing to claim), no_email, inactive or
    limited (3 a day per person; 10 an hour per asking `address`). `seen_from`: the address
    the officer asked from, for the audit trail of a send the worker makes."""
    if not user.active:
        return INACTIVE
    if user.password_hash:
        return CLAIMED
    if not user.email or user.id is None:
        return NO_EMAIL
    conn = session.connection()
    # what HR sends and what a stranger can ask for (knowing a NIP and its address) count
    # apart: asking cannot use up HR's budget
    kind = "invite-id" if by is not None else "invite-self"
    allowed = ratelimit.allow(
        conn,
        ratelimit.key(kind, f"account:{user.id}"),
        limit=PER_PERSON_DAY,
        per=timedelta(days=1),
    )
    if address is not None:
        allowed = (
            ratelimit.allow(
                conn,
                ratelimit.address_key("invite-ip", address),
                limit=PER_ADDRESS_HOUR,
                per=timedelta(hours=1),
            )
            and allowed
        )
    if not allowed:
        return LIMITED
    token = links.make(session, user, links.INVITE, links.INVITE_LIFETIME)
    mail.queue(
        session,
        settings,
        to=user.email,
        name=user.name,
        locale=user.locale or settings.default_locale,
        template="invite",
        context={
            "name": user.name,
            "agency": _agency_name(session, user.agency_id),
            "link": f"{settings.base_url.rstrip('/')}/claim/{token}",
            "days": links.INVITE_LIFETIME.days,
        },
        purpose="invite",
        user_id=user.id,
    )
    audit.record(
        session=session,
        actor_id=by,
        action="account.invite",
        subject_type="user",
        subject_id=user.nip,
        detail={"email": user.email},
        address=address or seen_from,
    )
    return SENT


# ---- HR's sends, run by the worker -----------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Whom a send is for, within the officer's scope at the time the worker runs it."""

    agency_id: int | None = None
    unit: str = ""
    nips: tuple[str, ...] = ()  # an uploaded roster's NIPs, or the people ticked on the page

    def as_payload(self) -> dict[str, Any]:
        return {"agency_id": self.agency_id, "unit": self.unit, "nips": list(self.nips)}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Selection:
        return cls(data.get("agency_id"), data.get("unit") or "", tuple(data.get("nips") or ()))


def _people(scope: Scope, selection: Selection) -> Any:
    """Unclaimed active people of the selection whom the scope covers, by id."""
    stmt = select(User).where(
        col(User.password_hash) == "", col(User.active) == true(), col(User.email).is_not(None)
    )
    limit = scope.where(col(User.agency_id), col(User.work_unit))
    if limit is not None:
        stmt = stmt.where(limit)
    if selection.agency_id is not None:
        stmt = stmt.where(col(User.agency_id) == selection.agency_id)
    if selection.unit:
        stmt = stmt.where(func.lower(col(User.work_unit)) == selection.unit.strip().lower())
    if selection.nips:
        stmt = stmt.where(col(User.nip).in_(selection.nips))
    return stmt.order_by(col(User.id))


def start(*, session: Session, officer_id: int, selection: Selection, address: str) -> bool:
    """Owe a send of invitations (the worker composes them); False when the officer started
    too many in the last hour. Commits."""
    if not ratelimit.allow(
        session.connection(),
        ratelimit.key("invite-bulk", f"account:{officer_id}"),
        limit=BULK_PER_OFFICER_HOUR,
        per=timedelta(hours=1),
    ):
        session.commit()
        return False
    jobs.enqueue(
        session,
        INVITE_JOB,
        {"officer_id": officer_id, "address": address, **selection.as_payload()},
        user_id=officer_id,
    )
    session.commit()
    return True


def send_many(
    *, session: Session, settings: Any, scope: Scope, payload: dict[str, Any]
) -> dict[str, int]:
    """The worker's step: invite every unclaimed person of the selection, a page per
    transaction (a retry skips those invited in the last hour). Counts by outcome."""
    selection = Selection.from_payload(payload)
    officer = payload.get("officer_id")
    counts = dict.fromkeys((SENT, LIMITED, "recent"), 0)
    recently = utcnow() - timedelta(hours=1)
    nips = selection.nips
    parts = [
        Selection(selection.agency_id, selection.unit, nips[i : i + NIP_CHUNK])
        for i in range(0, len(nips), NIP_CHUNK)
    ] or [selection]
    for part in parts:
        after = 0
        while True:
            stmt = _people(scope, part).where(col(User.id) > after).limit(PAGE)
            page = list(session.exec(stmt).all())
            for user in page:
                last = links.latest(session, user.id or 0, links.INVITE)
                if last is not None and last.used_at is None and as_utc(last.created_at) > recently:
                    counts["recent"] += 1
                    continue
                outcome = send(
                    session=session,
                    settings=settings,
                    user=user,
                    by=officer,
                    address=None,
                    seen_from=str(payload.get("address") or ""),
                )
                counts[outcome] = counts.get(outcome, 0) + 1
            session.commit()
            if len(page) < PAGE:
                break
            after = page[-1].id or after
    return counts


# ---- what HR sees ------------------------------------------------------------------------------


def _state_column() -> Any:
    invited = (
        sa_select(literal(1))
        .where(
            col(AccountLink.user_id) == col(User.id),
            col(AccountLink.purpose) == links.INVITE,
        )
        .exists()
    )
    return case(
        (col(User.password_hash) != "", "claimed"),
        (col(User.email).is_(None), "no_email"),
        (invited, "invited"),
        else_="not_invited",
    )


def _in_scope(stmt: Any, scope: Scope, agency_id: int | None, unit: str) -> Any:
    limit = scope.where(col(User.agency_id), col(User.work_unit))
    if limit is not None:
        stmt = stmt.where(limit)
    if agency_id is not None:
        stmt = stmt.where(col(User.agency_id) == agency_id)
    if unit:
        stmt = stmt.where(func.lower(col(User.work_unit)) == unit.strip().lower())
    return stmt.where(col(User.active) == true())


def overview(
    *, session: Session, scope: Scope, agency_id: int | None, unit: str, state: str, limit: int
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """How many of the people in view are in each state, and the first `limit` of one state
    with their latest invitation and its mail's delivery."""
    state_column = _state_column().label("state")
    counted = _in_scope(
        sa_select(state_column, func.count()).select_from(User), scope, agency_id, unit
    ).group_by(state_column)
    counts = dict.fromkeys(STATES, 0)
    for found, number in session.execute(counted).all():
        counts[str(found)] = int(str(number))
    listed = _in_scope(
        sa_select(
            col(User.id),
            col(User.nip),
            col(User.name),
            col(User.email),
            col(User.work_unit),
            state_column,
        ),
        scope,
        agency_id,
        unit,
    )
    if state in STATES:
        listed = listed.where(_state_column() == state)
    rows = [dict(r._mapping) for r in session.execute(listed.order_by(col(User.name)).limit(limit))]
    ids = [r["id"] for r in rows]
    latest = _latest_invitations(session, ids)
    for row in rows:
        row["invited_at"], row["delivery"] = latest.get(row["id"], (None, None))
    return counts, rows


def _latest_invitations(session: Session, user_ids: list[int]) -> dict[int, tuple[Any, Any]]:
    """When each person was last invited, and how that mail fared."""
    if not user_ids:
        return {}
    found: dict[int, tuple[Any, Any]] = {}
    for row in session.execute(
        sa_select(
            col(mail.MailMessage.user_id),
            col(mail.MailMessage.created_at),
            col(mail.MailMessage.status),
        )
        .where(
            col(mail.MailMessage.purpose) == "invite",
            col(mail.MailMessage.user_id).in_(user_ids),
        )
        .order_by(col(mail.MailMessage.created_at))
    ).all():
        found[row[0]] = (row[1], row[2])
    return found


def failed_mail(*, session: Session, scope: Scope, days: int = 30, limit: int = 100) -> list[Any]:
    """Mail to people in scope that could not be delivered in the last `days`, newest first."""
    stmt = (
        sa_select(
            col(mail.MailMessage.created_at),
            col(mail.MailMessage.purpose),
            col(mail.MailMessage.to_address),
            col(mail.MailMessage.last_error),
            col(User.nip),
            col(User.name),
        )
        .join(User, col(User.id) == col(mail.MailMessage.user_id))
        .where(
            col(mail.MailMessage.status) == mail.FAILED,
            col(mail.MailMessage.created_at) > utcnow() - timedelta(days=days),
        )
    )
    where = scope.where(col(User.agency_id), col(User.work_unit))
    if where is not None:
        stmt = stmt.where(where)
    return list(
        session.execute(stmt.order_by(col(mail.MailMessage.created_at).desc()).limit(limit))
    )


# ---- the person claims -------------------------------------------------------------------------


def invited_user(*, session: Session, token: str) -> User | None:
    """The person an invitation is for, if it still works (nothing is written)."""
    return links.peek(session, token, links.INVITE)


def unclaimed_roster_account(user: User | None) -> bool:
    """An account a roster made that nobody has claimed yet."""
    return user is not None and user.password_hash == "" and user.active
