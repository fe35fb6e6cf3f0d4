"""NIP disputes: a person says the NIP of an account someone else holds is theirs
(docs/identity.md). Filed without an account (their NIP is taken) and opened once they
confirmed their address by a mailed link; resolved by HR of the agency whose roster holds the
NIP (an administrator where no roster does): suspend the account while it is looked into,
transfer it to the claimant, or keep it with its holder. Every step is audited and both
parties are told by mail; a transfer re-issues the certificates in the claimant's name
through the learning workflow (an outbox job)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app import jobs, mail, ratelimit
from app.clock import as_utc, utcnow
from app.i18n import N_
from modules.accounts import invitations
from modules.accounts.grants import Scope
from modules.accounts.models import (
    AccountLink,
    ApiToken,
    AuthSession,
    NipDispute,
    RoleGrant,
    RosterEntry,
    User,
)
from modules.accounts.nip import NipError, parse_nip
from modules.accounts.schemas import EMAIL_RE, FormError
from modules.audit import service as audit

UNCONFIRMED, OPEN, SUSPENDED, TRANSFERRED, KEPT, CLOSED = (
    "unconfirmed",
    "open",
    "suspended",
    "transferred",
    "kept",
    "closed",
)
OUTCOMES = {"suspend": SUSPENDED, "transfer": TRANSFERRED, "keep": KEPT}
STATUS_LABELS = {
    UNCONFIRMED: N_("waiting for the claimant to confirm their address"),
    OPEN: N_("open"),
    SUSPENDED: N_("account suspended, under review"),
    TRANSFERRED: N_("transferred to the claimant"),
    KEPT: N_("kept with its holder"),
    CLOSED: N_("closed: the account was given to another claimant"),
}
CONFIRM_LIFETIME = timedelta(hours=24)
PER_ADDRESS_HOUR = 5
PER_NIP_DAY = 3
TRANSFERRED_JOB = "account.transferred"  # the learning workflow re-issues the certificates


class DisputeError(ValueError):
    """A resolution that cannot be made; the message is a translatable id."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean(text: str) -> str:
    return " ".join(text.split())


def file(
    *,
    session: Session,
    settings: Any,
    form: dict[str, str],
    locale: str,
    address: str,
    today: date,
    reset: Callable[[str], None],
) -> NipDispute | None:
    """Record a dispute (not yet open) and mail the claimant a link that opens it. FormError
    for what the person typed; commits. A report giving the holder's own address is no
    dispute: `reset(address)` mails that address a password reset instead (None)."""
    errors: dict[str, str] = {}
    try:
        nip = parse_nip(form.get("nip", ""), today).number
    except NipError as exc:
        errors["nip"], nip = str(exc), ""
    name = _clean(form.get("name", ""))
    if not 0 < len(name) <= 120 or not name.isprintable():
        errors["name"] = N_("Give your full name (at most 120 characters).")
    email = form.get("email", "").strip().lower()
    if not (len(email) <= 254 and email.isprintable() and EMAIL_RE.match(email)):
        errors["email"] = N_("Enter a valid email address, e.g. nama@instansi.go.id.")
    statement = form.get("statement", "").strip()
    if not 20 <= len(statement) <= 2000:
        errors["statement"] = N_(
            "Tell us in 20 to 2,000 characters why the NIP is yours and how HR can check it "
            "(e.g. your SK, your unit, your supervisor)."
        )
    if errors:
        raise FormError(errors)
    conn = session.connection()
    by_address = ratelimit.allow(
        conn,
        ratelimit.address_key("dispute-ip", address),
        limit=PER_ADDRESS_HOUR,
        per=timedelta(hours=1),
    )
    by_claimant = ratelimit.allow(
        conn,
        ratelimit.key("dispute-nip", f"{nip}/{email}"),
        limit=PER_NIP_DAY,
        per=timedelta(days=1),
    )
    if not (by_address and by_claimant):
        session.commit()
        raise FormError(
            {
                "form": N_(
                    "Too many reports about this NIP or from your network. Try again tomorrow."
                )
            }
        )
    holder = session.exec(select(User).where(col(User.nip) == nip)).first()
    if holder is None:
        session.commit()
        raise FormError({"nip": N_("No account uses this NIP: register with it.")})
    if holder.erased_at is not None:  # nothing to give: the records kept are not an account
        session.commit()
        raise FormError(
            {
                "nip": N_(
                    "The account of this NIP was erased at its holder's request. Ask your "
                    "agency's HR officer."
                )
            }
        )
    if invitations.unclaimed_roster_account(holder):
        session.commit()
        raise FormError(
            {
                "nip": N_(
                    "Your agency's roster holds this NIP and nobody has claimed it: register "
                    "with the email address in the roster, and an invitation is mailed to it."
                )
            }
        )
    assert holder.id is not None
    if holder.email == email:
        # whoever reads mail at the holder's address needs no dispute: they are sent a reset
        # link, and the answer is the one every report gets (nobody learns the address)
        session.commit()
        reset(email)
        return None
    entry = session.get(RosterEntry, nip)
    token = secrets.token_urlsafe(32)
    dispute = NipDispute(
        nip=nip,
        holder_id=holder.id,
        agency_id=entry.agency_id if entry else None,
        work_unit=entry.work_unit if entry else "",
        claimant_name=name,
        claimant_email=email,
        statement=statement,
        locale=locale,
        token_hash=_hash(token),
    )
    session.add(dispute)
    session.flush()
    mail.queue(  # without the typed name: nobody can put their words into our mail to others
        session,
        settings,
        to=email,
        name="",
        locale=locale,
        template="dispute_confirm",
        context={
            "nip": nip,
            "link": f"{settings.base_url.rstrip('/')}/nip-dispute/confirm/{token}",
        },
        purpose="dispute",
    )
    session.commit()
    return dispute


def pending_by_token(*, session: Session, token: str) -> NipDispute | None:
    """The dispute a confirmation link opens, if it still works (nothing is written)."""
    if not 20 <= len(token) <= 100 or not token.isascii():
        return None
    dispute = session.exec(
        select(NipDispute).where(col(NipDispute.token_hash) == _hash(token))
    ).first()
    if dispute is None or dispute.status != UNCONFIRMED:
        return None
    if as_utc(dispute.created_at) + CONFIRM_LIFETIME <= utcnow():
        return None
    return dispute


def confirm(*, session: Session, settings: Any, token: str, address: str) -> NipDispute | None:
    """Open the dispute (the claimant showed they read mail at their address): audited, and
    the account's holder told. None when the link does not work."""
    dispute = pending_by_token(session=session, token=token)
    if dispute is None:
        return None
    opened = session.exec(
        update(NipDispute)
        .where(col(NipDispute.id) == dispute.id, col(NipDispute.status) == UNCONFIRMED)
        .values(status=OPEN, confirmed_at=utcnow(), token_hash=None)
    )
    if opened.rowcount != 1:
        session.rollback()
        return None
    session.refresh(dispute)
    audit.record(
        session=session,
        actor_id=None,
        action="dispute.file",
        subject_type="user",
        subject_id=dispute.nip,
        detail={
            "dispute": dispute.id,
            "claimant": dispute.claimant_name,
            "claimant_email": dispute.claimant_email,
        },
        address=address,
    )
    holder = session.get(User, dispute.holder_id)
    if holder is not None and holder.email:
        mail.queue(
            session,
            settings,
            to=holder.email,
            name=holder.name,
            locale=holder.locale or settings.default_locale,
            template="dispute_notice",
            context={"name": holder.name, "nip": dispute.nip},
            purpose="dispute",
            user_id=holder.id,
        )
    session.commit()
    return dispute


# ---- HR and administrators -------------------------------------------------------------------


def resolvable_by(scope: Scope, dispute: NipDispute, holder: User | None) -> bool:
    """HR of the agency (or unit) whose roster holds the NIP, while the account is still
    theirs too (a holder who moved to another agency goes to an administrator, as does a NIP
    no roster holds); an administrator for any."""
    if scope.everything:
        return True
    return (
        dispute.agency_id is not None
        and scope.covers(dispute.agency_id, dispute.work_unit)
        and holder is not None
        and scope.covers(holder.agency_id, holder.work_unit)
    )


def listed(*, session: Session, scope: Scope, include_closed: bool) -> list[NipDispute]:
    """The confirmed disputes this officer resolves, open ones first, newest first."""
    stmt = select(NipDispute).where(col(NipDispute.status) != UNCONFIRMED)
    if not include_closed:
        stmt = stmt.where(col(NipDispute.status).in_((OPEN, SUSPENDED)))
    if not scope.everything:
        agencies = set(scope.agencies) | {agency for agency, _unit in scope.units}
        stmt = stmt.where(col(NipDispute.agency_id).in_(sorted(agencies)))
    rows = session.exec(stmt.order_by(col(NipDispute.created_at).desc()).limit(500)).all()
    return [d for d in rows if resolvable_by(scope, d, session.get(User, d.holder_id))]


def get(*, session: Session, scope: Scope, dispute_id: int) -> NipDispute | None:
    """A confirmed dispute this officer resolves, or None."""
    dispute = session.get(NipDispute, dispute_id)
    if dispute is None or dispute.status == UNCONFIRMED:
        return None
    return dispute if resolvable_by(scope, dispute, session.get(User, dispute.holder_id)) else None


def _end_access(session: Session, user_id: int) -> None:
    """Sessions, API tokens and mailed links of the account stop working."""
    now = utcnow()
    session.execute(delete(AuthSession).where(col(AuthSession.user_id) == user_id))
    session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(AccountLink)
        .where(col(AccountLink.user_id) == user_id, col(AccountLink.used_at).is_(None))
        .values(used_at=now)
    )


def resolve(
    *,
    session: Session,
    settings: Any,
    dispute: NipDispute,
    outcome: str,
    note: str,
    officer_id: int,
    officer_email: str,
    address: str,
) -> NipDispute:
    """Decide a dispute: `suspend` (the account stops working while it is looked into; the
    dispute stays open), `transfer` (the account, with its progress, JP and certificates,
    passes to the claimant, who claims it through a mailed invitation) or `keep`. Audited;
    both parties are mailed. DisputeError or FormError; commits."""
    if outcome not in OUTCOMES:
        raise DisputeError(N_("Choose what to do with the account."))
    note = note.strip()
    if not 5 <= len(note) <= 2000:
        raise FormError({"note": N_("Say in 5 to 2,000 characters what you checked and decided.")})
    allowed_from = (OPEN,) if outcome == "suspend" else (OPEN, SUSPENDED)
    was = dispute.status
    if outcome == "transfer" and dispute.claimant_email == officer_email.lower():
        raise DisputeError(N_("You cannot give an account to yourself; ask an administrator."))
    # one decision wins: the status moves only from what it was (two officers at once, or a
    # double click, cannot both decide)
    decided = session.exec(
        update(NipDispute)
        .where(col(NipDispute.id) == dispute.id, col(NipDispute.status).in_(allowed_from))
        .values(status=OUTCOMES[outcome])
    )
    if decided.rowcount != 1:
        session.rollback()
        raise DisputeError(N_("This dispute was decided already."))
    holder = session.get(User, dispute.holder_id)
    if holder is None or holder.id is None or holder.nip != dispute.nip or holder.erased_at:
        raise DisputeError(N_("The account of this NIP changed; this dispute no longer applies."))
    before = {"name": holder.name, "email": holder.email, "locale": holder.locale}
    detail: dict[str, Any] = {"dispute": dispute.id, "note": note}
    if outcome == "suspend":
        holder.active = False
        _end_access(session, holder.id)
    elif outcome == "keep":
        if was == SUSPENDED:  # this dispute suspended it; another reason stays another reason
            holder.active = True
    else:
        taken = session.exec(
            select(User.id).where(
                col(User.email) == dispute.claimant_email, col(User.id) != holder.id
            )
        ).first()
        if taken:
            raise DisputeError(
                N_("Another account uses the claimant's email address; it cannot be transferred.")
            )
        _end_access(session, holder.id)
        session.execute(delete(RoleGrant).where(col(RoleGrant.user_id) == holder.id))
        holder.name = dispute.claimant_name
        holder.email = dispute.claimant_email
        holder.locale = dispute.locale
        holder.email_verified_at = utcnow()  # the claimant confirmed it opening the dispute
        holder.password_hash = ""  # claimed through the invitation mailed below
        holder.active = True
        detail |= {
            "from": {"name": before["name"], "email": before["email"]},
            "to": {"name": holder.name, "email": holder.email},
        }
        _close_others(session, settings, dispute)
        jobs.enqueue(
            session,
            TRANSFERRED_JOB,
            {"user_id": holder.id},
            key=f"transferred/{dispute.id}",
            user_id=holder.id,
        )
    session.add(holder)
    dispute.status = OUTCOMES[outcome]
    dispute.note = note
    dispute.resolved_by = officer_id
    if outcome != "suspend":
        dispute.resolved_at = utcnow()
    session.add(dispute)
    session.flush()
    audit.record(
        session=session,
        actor_id=officer_id,
        action=f"dispute.{outcome}",
        subject_type="user",
        subject_id=dispute.nip,
        detail=detail,
        address=address,
    )
    _tell(session, settings, dispute, before)
    if outcome == "transfer":
        invitations.send(
            session=session, settings=settings, user=holder, by=officer_id, address=None
        )
    session.commit()
    return dispute


def _close_others(session: Session, settings: Any, dispute: NipDispute) -> None:
    """The other open disputes over the NIP end with the transfer; their claimants are told."""
    others = session.exec(
        select(NipDispute).where(
            col(NipDispute.nip) == dispute.nip,
            col(NipDispute.id) != dispute.id,
            col(NipDispute.status).in_((UNCONFIRMED, OPEN, SUSPENDED)),
        )
    ).all()
    for other in others:
        told = other.status != UNCONFIRMED
        other.status, other.resolved_at = CLOSED, utcnow()
        other.note, other.token_hash = dispute.note, None
        session.add(other)
        if told:
            mail.queue(
                session,
                settings,
                to=other.claimant_email,
                name=other.claimant_name,
                locale=other.locale,
                template="dispute_outcome",
                context={
                    "nip": other.nip,
                    "outcome": CLOSED,
                    "note": dispute.note,
                    "name": other.claimant_name,
                    "role": "claimant",
                },
                purpose="dispute",
            )


def _tell(session: Session, settings: Any, dispute: NipDispute, holder: dict[str, Any]) -> None:
    """Mail both parties the decision and the officer's note."""
    context = {"nip": dispute.nip, "outcome": dispute.status, "note": dispute.note}
    mail.queue(
        session,
        settings,
        to=dispute.claimant_email,
        name=dispute.claimant_name,
        locale=dispute.locale,
        template="dispute_outcome",
        context={**context, "name": dispute.claimant_name, "role": "claimant"},
        purpose="dispute",
    )
    if holder["email"]:
        mail.queue(
            session,
            settings,
            to=holder["email"],
            name=holder["name"],
            locale=holder["locale"] or settings.default_locale,
            template="dispute_outcome",
            context={**context, "name": holder["name"], "role": "holder"},
            purpose="dispute",
            user_id=dispute.holder_id if dispute.status != TRANSFERRED else None,
        )
