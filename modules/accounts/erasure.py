"""Erasure on request (UU 27/2022 Pasal 8 and 43): a person asks for their account to be
erased, an administrator or HR of their agency approves (or refuses, saying why), and the
worker carries it out. What is deleted, what is kept for legal reasons and for how long is in
docs/privacy.md ("Erasure"); each module erases its own part (app/main.py, ERASURE), and this
module ends with the account itself: emptied, unable to log in, kept only as the anchor of
the certificates and JP records that stay."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app import jobs, mail
from app.clock import utcnow
from app.i18n import N_
from modules.accounts import decisions
from modules.accounts.grants import Scope
from modules.accounts.models import (
    AccountLink,
    ApiToken,
    AuthSession,
    ErasedNip,
    ErasureRequest,
    MoveRequest,
    NipDispute,
    RoleGrant,
    RosterEntry,
    RosterUpload,
    User,
)
from modules.accounts.schemas import FormError
from modules.audit import service as audit

REQUESTED, APPROVED, REFUSED, WITHDRAWN, DONE = (
    "requested",
    "approved",
    "refused",
    "withdrawn",
    "done",
)
STATUS_LABELS = {
    REQUESTED: N_("waiting for a decision"),
    APPROVED: N_("approved, being carried out"),
    REFUSED: N_("refused"),
    WITHDRAWN: N_("withdrawn"),
    DONE: N_("carried out"),
}
ERASE_JOB = "accounts.erase"
ERASED_NAME = "—"  # what the kept records show where the name was


def nip_digest(nip: str) -> str:
    """What is kept of an erased NIP for ever: enough to recognise it in a later roster, not
    to read it (a digest; the NIP itself is removed after BERAKHLAK_ERASURE_KEEP_YEARS)."""
    return hashlib.sha256(f"berakhlak erased NIP {nip}".encode()).hexdigest()


def is_erased_nip(*, session: Session, nip: str) -> bool:
    return session.get(ErasedNip, nip_digest(nip)) is not None


def erased_among(*, session: Session, nips: list[str]) -> set[str]:
    """The NIPs of `nips` whose account was erased (for a roster's check)."""
    digests = {nip_digest(n): n for n in nips}
    found: set[str] = set()
    keys = sorted(digests)
    for start in range(0, len(keys), 500):
        rows = session.exec(
            select(ErasedNip.digest).where(col(ErasedNip.digest).in_(keys[start : start + 500]))
        ).all()
        found |= {digests[d] for d in rows}
    return found


def pending(*, session: Session, user_id: int) -> ErasureRequest | None:
    """The person's request that is not decided or not yet carried out, if any."""
    return session.exec(
        select(ErasureRequest).where(
            col(ErasureRequest.user_id) == user_id,
            col(ErasureRequest.status).in_([REQUESTED, APPROVED]),
        )
    ).first()


def latest(*, session: Session, user_id: int) -> ErasureRequest | None:
    return session.exec(
        select(ErasureRequest)
        .where(col(ErasureRequest.user_id) == user_id)
        .order_by(col(ErasureRequest.id).desc())
    ).first()


def request(
    *, session: Session, settings: Any, user: User, reason: str, confirmed: bool, address: str
) -> ErasureRequest:
    """Record a person's request (they typed their password: checked by the caller), mail
    them a receipt and audit it."""
    if not confirmed:
        raise FormError({"confirm": N_("Tick the box to confirm that you ask for erasure.")})
    reason = " ".join(reason.split())
    if len(reason) > 1000:
        raise FormError({"reason": N_("At most 1,000 characters.")})
    if pending(session=session, user_id=user.id or 0) is not None:
        raise FormError({"confirm": N_("You already asked; the request is being handled.")})
    entry = ErasureRequest(user_id=user.id or 0, status=REQUESTED, reason=reason)
    session.add(entry)
    session.flush()
    audit.record(
        session=session,
        actor_id=user.id,
        action="erasure.request",
        subject_type="user",
        subject_id=user.nip,
        detail={"request": entry.id},
        address=address,
    )
    _mail(session, settings, user, "erasure_received", {})
    session.commit()
    return entry


def withdraw(*, session: Session, user: User, address: str) -> bool:
    """The person withdraws a request not yet decided."""
    entry = pending(session=session, user_id=user.id or 0)
    if entry is None or entry.status != REQUESTED:
        return False
    try:
        decisions.settle(
            session, ErasureRequest, entry.id or 0, status=WITHDRAWN, decided_at=utcnow()
        )
    except decisions.DecisionError:
        return False  # decided meanwhile
    audit.record(
        session=session,
        actor_id=user.id,
        action="erasure.withdraw",
        subject_type="user",
        subject_id=user.nip,
        detail={"request": entry.id},
        address=address,
    )
    session.commit()
    return True


def open_dispute(session: Session, user_id: int) -> bool:
    """Whether a NIP dispute about the account is still to be decided (an erasure waits)."""
    return (
        session.exec(
            select(NipDispute.id).where(
                col(NipDispute.holder_id) == user_id,
                col(NipDispute.status).in_(["open", "suspended"]),
            )
        ).first()
        is not None
    )


def may_decide(scope: Scope, person: User) -> bool:
    """An administrator, or HR whose scope covers where the person is."""
    return scope.covers(person.agency_id, person.work_unit)


def listing(*, session: Session, scope: Scope, status: str = REQUESTED) -> list[Any]:
    """Requests in a status with their person, those this officer may decide."""
    stmt = (
        select(ErasureRequest, User)
        .join(User, col(User.id) == col(ErasureRequest.user_id))
        .where(col(ErasureRequest.status) == status)
        .order_by(col(ErasureRequest.id))
    )
    limit = scope.where(col(User.agency_id), col(User.work_unit))
    if limit is not None:
        stmt = stmt.where(limit)
    return list(session.exec(stmt.limit(200)).all())


def decide(
    *,
    session: Session,
    settings: Any,
    scope: Scope,
    officer_id: int,
    request_id: int,
    approve: bool,
    note: str,
    address: str,
) -> ErasureRequest:
    """Approve (the worker erases) or refuse (with a reason the person is mailed)."""
    entry = session.get(ErasureRequest, request_id)
    person = session.get(User, entry.user_id) if entry is not None else None
    if entry is None or person is None or not may_decide(scope, person):
        raise LookupError(request_id)
    note = decisions.checked_note(approve=approve, note=note, still_open=entry.status == REQUESTED)
    decisions.not_ones_own(officer_id, person.id)
    if approve and open_dispute(session, person.id or 0):
        raise decisions.DecisionError(
            N_("A NIP dispute about this account is open: it is decided first.")
        )
    decisions.settle(
        session,
        ErasureRequest,
        request_id,
        status=APPROVED if approve else REFUSED,
        decided_by=officer_id,
        decided_at=utcnow(),
        note=note,
    )
    session.refresh(entry)
    audit.record(
        session=session,
        actor_id=officer_id,
        action="erasure.approve" if approve else "erasure.refuse",
        subject_type="user",
        subject_id=person.nip,
        detail={"request": entry.id},
        address=address,
    )
    if approve:
        jobs.enqueue(session, ERASE_JOB, {"request": entry.id}, key=f"erase:{entry.id}")
    else:
        _mail(session, settings, person, "erasure_refused", {"note": note})
    session.commit()
    return entry


def erase_account(*, session: Session, settings: Any, request_id: int) -> int | None:
    """The accounts part of an approved erasure, after every other module's: logins, tokens,
    links, rosters uploaded, grants and the roster's listing deleted; the account emptied and
    unable to log in; the NIP kept (as the anchor of the records kept) until the retention
    job removes it, and its digest for ever. The person is mailed once more, at the address
    they had. Returns the person's id (None: nothing to do)."""
    entry = session.get(ErasureRequest, request_id)
    if entry is None or entry.status != APPROVED:
        return None
    user = session.get(User, entry.user_id)
    if user is None:
        return None
    user_id = user.id
    _mail(session, settings, user, "erasure_done", {}, keep=False)  # no name: it outlives them
    for model in (AuthSession, ApiToken, AccountLink, RosterUpload, RoleGrant, MoveRequest):
        session.execute(delete(model).where(col(model.user_id) == user_id))
    session.execute(delete(RosterEntry).where(col(RosterEntry.nip) == user.nip))
    if session.get(ErasedNip, nip_digest(user.nip)) is None:
        session.add(ErasedNip(digest=nip_digest(user.nip)))
    user.name, user.email, user.password_hash = ERASED_NAME, None, "!"
    user.work_unit, user.position, user.grade = "", "", ""
    user.locale, user.email_verified_at, user.reminders = None, None, False
    user.active, user.erased_at = False, utcnow()
    session.add(user)
    entry.status, entry.done_at, entry.reason = DONE, utcnow(), ""
    session.add(entry)
    audit.record(
        session=session,
        actor_id=None,
        action="erasure.done",
        subject_type="user",
        subject_id=user.nip,
        detail={"request": entry.id},
        address="worker",
    )
    return user_id


def release_nips(*, session: Session, keep_years: int) -> int:
    """The end of the kept records' NIP: accounts erased more than `keep_years` ago lose it
    (it becomes `E` and the account id in 17 digits, which no NIP can equal); the digest stays."""
    before = utcnow() - timedelta(days=365 * keep_years)
    rows = session.exec(
        select(User.id, User.nip).where(
            col(User.erased_at).is_not(None),
            col(User.erased_at) < before,
            ~col(User.nip).startswith("E"),
        )
    ).all()
    for user_id, _nip in rows:
        session.execute(update(User).where(col(User.id) == user_id).values(nip=f"E{user_id:017d}"))
    return len(rows)


def _mail(
    session: Session,
    settings: Any,
    user: User,
    template: str,
    context: dict[str, Any],
    keep: bool = True,
) -> None:
    """Mail the person (if they have an address). `keep=False`: the mail is not tied to
    their account (it outlives the erasure that deletes their mail)."""
    if not user.email:
        return
    name = user.name if keep else ""
    mail.queue(
        session,
        settings,
        to=user.email,
        name=name,
        locale=user.locale or settings.default_locale,
        template=template,
        context={"name": name, **context},
        purpose="erasure",
        user_id=user.id if keep else None,
    )
