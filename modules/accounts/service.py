"""Accounts: registration, login with throttling, sessions, profile and roles."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import jobs, mail, personal_data, ratelimit, security
from app.auth import Principal
from app.clock import as_utc, utcnow
from app.i18n import N_
from modules.accounts import disputes, invitations, links, moves, roster_uploads
from modules.accounts.erasure import nip_digest as erasure_digest

# re-exported: the scopes of HR officers and trainers are part of what accounts offers others
from modules.accounts.grants import Scope as Scope
from modules.accounts.grants import hr_scope as hr_scope
from modules.accounts.grants import trainer_courses as trainer_courses
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
from modules.accounts.nip import normalise
from modules.accounts.schemas import FormError, ProfileInput, RegistrationInput, password_problem
from modules.agencies import service as agencies_service
from modules.audit import service as audit

log = logging.getLogger("berakhlak.accounts")

SESSION_REFRESH = timedelta(hours=1)


def _id(user: User) -> int:
    """A stored user's id (None only before the row is written)."""
    if user.id is None:
        raise ValueError("the user is not stored yet")
    return user.id


ACCOUNT_FAILURE_FACTOR = 4
ADDRESS_FAILURE_FACTOR = 10  # an address (an office NAT) may fail more often than one account


class InvitationMailed(Exception):
    """Registration with the NIP and the email of an account a roster made: the account is
    claimed through the invitation mailed to that address (`sent`: False when the limits held
    it back), never by the registration itself."""

    def __init__(self, sent: bool) -> None:
        super().__init__("invitation")
        self.sent = sent


NIP_TAKEN = N_("An account with this NIP already exists. Log in instead.")


def register(
    *,
    session: Session,
    data: RegistrationInput,
    verified: bool = False,
    settings: Any = None,
    address: str | None = None,
    privacy_version: str | None = None,
) -> User:
    """Create a learner account; a taken NIP or email is a field error, never a 500.
    `verified`: the address is trusted as typed (no verification asked, or an administrator
    made the account). A NIP a roster holds registers only with the roster's email; an
    account a roster made is claimed through a mailed invitation (InvitationMailed)."""
    errors: dict[str, str] = {}
    existing = session.exec(select(User).where(User.nip == data.nip)).first()
    if invitations.unclaimed_roster_account(existing):
        assert existing is not None
        if existing.email is None:
            raise FormError(
                {
                    "email": N_(
                        "Your agency's roster lists this NIP without an email address. Ask "
                        "your HR officer to add your work email; an invitation to claim your "
                        "account is then mailed to it."
                    )
                }
            )
        if existing.email != data.email:
            raise FormError({"email": ROSTER_EMAIL_ONLY})
        outcome = invitations.send(
            session=session, settings=settings, user=existing, by=None, address=address
        )
        session.commit()
        raise InvitationMailed(outcome == invitations.SENT)
    # a roster's NIP without an account (the account was erased): its address only
    entry = session.get(RosterEntry, data.nip)
    if existing is None and entry is not None and entry.email and entry.email != data.email:
        raise FormError({"email": ROSTER_EMAIL_ONLY})
    if existing is not None and existing.erased_at is not None:
        errors["nip"] = N_(
            "The account of this NIP was erased at its holder's request; its records are kept "
            "for a set period, and it cannot be registered again meanwhile. Ask your agency's "
            "HR officer."
        )
    elif existing is not None:
        errors["nip"] = NIP_TAKEN
    if session.exec(select(User.id).where(User.email == data.email)).first():
        errors["email"] = N_("An account with this email already exists.")
    if errors:
        raise FormError(errors)
    user = User(
        nip=data.nip,
        employment_type=data.employment_type,
        name=data.name,
        email=data.email,
        password_hash=security.hash_password(data.password),
        agency_id=data.agency_id,
        work_unit=data.work_unit,
        position=data.position,
        grade=data.grade,
        email_verified_at=utcnow() if verified else None,
        privacy_version=privacy_version,
        privacy_acknowledged_at=utcnow() if privacy_version else None,
    )
    session.add(user)
    # a person erased long ago who registers again themselves: rosters may list them again
    session.execute(delete(ErasedNip).where(col(ErasedNip.digest) == erasure_digest(data.nip)))
    try:
        session.commit()
    except IntegrityError:  # a concurrent registration won the race
        session.rollback()
        raise FormError({"nip": NIP_TAKEN}) from None
    session.refresh(user)
    return user


ROSTER_EMAIL_ONLY = N_(
    "Your agency's roster lists this NIP with another email address. Register with that "
    "address (an invitation to claim your account is mailed to it), or ask your HR officer "
    "to correct the roster."
)


def _password_problem(session: Session, user: User, password: str) -> str | None:
    """What is wrong with `password` for this person (their NIP, name, email and agency are
    what a guesser tries first), or None."""
    return password_problem(
        password,
        nip=user.nip,
        email=user.email or "",
        name=user.name,
        agency=_agency_name(session, user),
    )


def _password_by_link(
    session: Session, token: str, purpose: str, password: str, confirm: str
) -> User:
    """The person of a mailed link whose new password passes the rules; the link is used (in
    the caller's transaction). LinkInvalid or FormError."""
    user = links.peek(session, token, purpose)
    if user is None:
        raise LinkInvalid
    problem = _password_problem(session, user, password)
    if problem:
        raise FormError({"password": problem})
    if password != confirm:
        raise FormError({"password_confirm": N_("The two passwords do not match.")})
    if links.redeem(session, token, purpose) is None:
        session.rollback()
        raise LinkInvalid
    return user


def claim_invitation(
    *, session: Session, token: str, password: str, confirm: str, address: str
) -> User:
    """Set the password of a roster-made account through its invitation, once; the link
    proves the address, which counts as confirmed (audited as `user.claim`). The profile
    stays as HR's roster gave it: a claim must not move a person out of their agency's
    reports. LinkInvalid or FormError."""
    user = _password_by_link(session, token, links.INVITE, password, confirm)
    claimed = session.exec(
        update(User)
        .where(col(User.id) == user.id, col(User.password_hash) == "")
        .values(password_hash=security.hash_password(password))
    )
    if claimed.rowcount != 1:  # claimed at the same moment through another way
        session.rollback()
        raise LinkInvalid
    session.refresh(user)
    if user.email_verified_at is None:
        _verified_now(session, user)
        session.add(user)
    audit.record(
        session=session,
        actor_id=user.id,
        action="user.claim",
        subject_type="user",
        subject_id=user.nip,
        detail={"by": "invitation", "email": user.email},
        address=address,
    )
    session.commit()
    session.refresh(user)
    return user


@dataclass
class LoginResult:
    user: User | None
    locked: bool = False


def _subject(user: User | None, ident: str) -> str:
    """What failed logins are counted against: the account, whichever of its identifiers
    (NIP or email) was typed; for an identifier that is no account, the identifier."""
    return f"account:{user.id}" if user is not None else f"ident:{ident}"


def _by_identifier(session: Session, identifier: str) -> tuple[str, User | None]:
    """The identifier as typed, normalised (a NIP without its spaces, an email lower-case), and
    its account, if any."""
    ident = identifier.strip().lower()
    ident = normalise(ident) if "@" not in ident else ident
    user = None
    if len(ident) <= 254 and ident.isprintable():  # anything else matches no account
        column = User.email if "@" in ident else User.nip
        user = session.exec(select(User).where(column == ident)).first()
    return ident, user


def _within_the_hour(
    session: Session, kind: str, *, subject: str, address: str, per_account: int, per_address: int
) -> bool:
    """Count one mail of `kind` asked for, against its account and the asking address (the
    platform's rate limiter, in the caller's transaction); False once either is over."""
    conn = session.connection()
    hour = timedelta(hours=1)
    by_address = ratelimit.hit(conn, ratelimit.address_key(f"{kind}-ip", address), per=hour)
    by_account = ratelimit.hit(conn, ratelimit.key(f"{kind}-id", subject), per=hour)
    return by_address.value <= per_address and by_account.value <= per_account


def _pair_prefix(subject: str) -> str:
    return ratelimit.key("login-pair", subject) + ":"


def authenticate(
    *,
    session: Session,
    identifier: str,
    password: str,
    address: str,
    max_failures: int,
    lockout_minutes: int,
) -> LoginResult:
    """Check NIP-or-email and password, counting attempts per account (one counter whether
    the NIP or the email was typed), per account and address, and per address, with the
    platform's rate limiter.

    The attempt is counted before the password is checked, so concurrent guesses are counted
    before any of them is verified (a read-check-write order would let them all through)."""
    ident, user = _by_identifier(session, identifier)
    subject = _subject(user, ident)
    window = timedelta(minutes=lockout_minutes)
    id_key = ratelimit.key("login-id", subject)
    addr_key = ratelimit.address_key("login-ip", address)
    pair_key = _pair_prefix(subject) + ratelimit.address_key("", address)[1:17]
    conn = session.connection()
    counts = {k: ratelimit.hit(conn, k, per=window) for k in (pair_key, id_key, addr_key)}
    session.commit()
    # One address guessing one account is stopped after `max_failures`; an account attacked
    # from many addresses after four times that (so a stranger cannot lock someone out with
    # a handful of tries); one address after ten times that, whatever accounts it tries.
    if (
        counts[pair_key].value > max_failures
        or counts[id_key].value > max_failures * ACCOUNT_FAILURE_FACTOR
        or counts[addr_key].value > max_failures * ADDRESS_FAILURE_FACTOR
    ):
        return LoginResult(None, locked=True)
    if (
        security.verify_password(password, user.password_hash if user else None)
        and user
        and user.active
    ):
        # a success forgets the account's failures and does not count against the address
        conn = session.connection()
        ratelimit.clear(conn, [id_key, pair_key])
        ratelimit.forgive(conn, counts[addr_key])
        session.commit()
        return LoginResult(user)
    return LoginResult(None)


def registration_allowed(*, session: Session, address: str, per_hour: int) -> bool:
    """Count a registration attempt from an address; False once it is over the hourly limit
    (every attempt costs an argon2 hash and could probe which NIPs are registered)."""
    allowed = ratelimit.allow(
        session.connection(),
        ratelimit.address_key("register-ip", address),
        limit=per_hour,
        per=timedelta(hours=1),
    )
    session.commit()
    return allowed


SESSIONS_KEPT = 10  # a person's newest logins; an older one ends when an eleventh starts


def start_session(*, session: Session, user: User, days: int, user_agent: str = "") -> str:
    """Create a login session and return the token for the cookie. The person's expired
    sessions go, and beyond their newest ten the oldest end (logins do not pile up)."""
    token = security.new_token()
    now = utcnow()
    session.exec(
        delete(AuthSession).where(
            col(AuthSession.user_id) == user.id, col(AuthSession.expires_at) < now
        )
    )
    kept = (
        select(AuthSession.id)
        .where(col(AuthSession.user_id) == user.id)
        .order_by(col(AuthSession.last_seen_at).desc())
        .limit(SESSIONS_KEPT - 1)
    )
    session.exec(
        delete(AuthSession).where(
            col(AuthSession.user_id) == user.id, col(AuthSession.id).not_in(kept)
        )
    )
    session.add(
        AuthSession(
            id=security.token_digest(token),
            user_id=_id(user),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=days),
            user_agent=user_agent[:200],
        )
    )
    session.commit()
    return token


_PRINCIPAL_COLUMNS: list[Any] = [
    User.id,
    User.nip,
    User.employment_type,
    User.name,
    User.email,
    User.agency_id,
    User.locale,
    User.privacy_version,
]


def principal_select(
    *extra: Any, outer_join: Callable[[Any], tuple[Any, Any]] | None = None
) -> Select[Any]:
    """The query behind a session cookie (bound parameter `digest`), with `extra` columns a
    hot path needs in the same round trip; `outer_join(user_id)` gives the (table, condition)
    they come from, the condition written on the user's id column."""
    stmt = (
        sa_select(
            *_PRINCIPAL_COLUMNS,
            col(AuthSession.expires_at),
            col(AuthSession.last_seen_at),
            *extra,
        )
        .select_from(User)
        .join(AuthSession, col(AuthSession.user_id) == User.id)
    )
    if outer_join is not None:
        stmt = stmt.outerjoin(*outer_join(col(User.id)))
    return stmt.where(col(AuthSession.id) == bindparam("digest"), col(User.active) == true())


# Built once: constructing a statement costs more than running it on SQLite.
PRINCIPAL_BY_DIGEST = principal_select()
_EXTEND_SESSION = (
    update(AuthSession)
    .where(col(AuthSession.id) == bindparam("digest"))
    .values(last_seen_at=bindparam("now"), expires_at=bindparam("until"))
)


def principal_for_token(*, conn: Connection, token: str) -> tuple[Principal | None, bool]:
    """The user behind a session cookie (or None), and whether the session is due to be
    extended (at most once an hour). One prepared Core query: this runs on every page view."""
    user, stale, _ = principal_with(conn=conn, token=token, statement=PRINCIPAL_BY_DIGEST)
    return user, stale


def principal_with(
    *, conn: Connection, token: str, statement: Select[Any], params: dict[str, Any] | None = None
) -> tuple[Principal | None, bool, tuple[Any, ...]]:
    """Like principal_for_token for a `principal_select(...)` statement; also the values of its
    extra columns (empty when there is no such session)."""
    digest = security.token_digest(token)
    row = conn.execute(statement, {"digest": digest, **(params or {})}).first()
    if row is None:
        return None, False, ()
    now = utcnow()
    if as_utc(row.expires_at) <= now:
        return None, False, ()
    stale = now - as_utc(row.last_seen_at) > SESSION_REFRESH
    width = len(_PRINCIPAL_COLUMNS)
    return Principal(*row[:width]), stale, tuple(row[width + 2 :])


def extend_session(*, conn: Connection, token: str, days: int) -> None:
    """Slide a session's expiry forward (sessions last `days` after the last visit)."""
    now = utcnow()
    conn.execute(
        _EXTEND_SESSION,
        {"digest": security.token_digest(token), "now": now, "until": now + timedelta(days=days)},
    )


def get(*, session: Session, user_id: int) -> User:
    """The full user record, for the pages that change it."""
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(user_id)
    return user


def end_session(*, session: Session, token: str) -> None:
    """Log out: forget the session server-side."""
    session.exec(delete(AuthSession).where(col(AuthSession.id) == security.token_digest(token)))
    session.commit()


def sessions_of(*, session: Session, user_id: int) -> list[AuthSession]:
    """A person's logins still valid, the most recently used first."""
    return list(
        session.exec(
            select(AuthSession)
            .where(col(AuthSession.user_id) == user_id, col(AuthSession.expires_at) > utcnow())
            .order_by(col(AuthSession.last_seen_at).desc())
        ).all()
    )


def current_session_id(token: str | None) -> str:
    """The id of the session a cookie holds (its token's digest)."""
    return security.token_digest(token) if token else ""


def end_sessions(
    *, session: Session, user: Any, keep: str, only: str | None = None, address: str
) -> int:
    """End one of a person's sessions (`only`), or all but `keep`; never `keep` itself
    through `only` (that is logging out). Audited; returns how many ended."""
    stmt = delete(AuthSession).where(
        col(AuthSession.user_id) == user.id, col(AuthSession.id) != keep
    )
    if only is not None:
        stmt = stmt.where(col(AuthSession.id) == only)
    ended = int(session.exec(stmt).rowcount or 0)
    if ended:
        audit.record(
            session=session,
            actor_id=user.id,
            action="account.sessions_end",
            subject_type="user",
            subject_id=user.nip,
            detail={"ended": ended, "which": "one" if only else "all others"},
            address=address,
        )
    session.commit()
    return ended


def update_profile(
    *, session: Session, user: User, data: ProfileInput, settings: Any, address: str = ""
) -> set[str]:
    """Save profile changes; an email taken by someone else is a field error. A new email is
    not taken at once: a link to confirm it goes to the new address and a notice to the old
    one; the account keeps its address until the link is opened ("email" in the answer). A
    person on an agency's roster who changes agency or unit asks that roster's HR instead
    ("move"; modules/accounts/moves.py)."""
    flags: set[str] = set()
    taken = session.exec(
        select(User.id).where(User.email == data.email, User.id != user.id)
    ).first()
    if taken:
        raise FormError({"email": N_("An account with this email already exists.")})
    new_email = data.email if data.email != user.email else None
    before = {"agency_id": user.agency_id, "work_unit": user.work_unit}
    wanted = {"agency_id": data.agency_id, "work_unit": data.work_unit}
    entry = moves.roster_of(session=session, nip=user.nip) if wanted != before else None
    for key, value in vars(data).items():
        if key == "email" or (entry is not None and key in wanted):
            continue  # a move of a person on a roster waits for that roster's HR
        setattr(user, key, value)
    session.add(user)
    if entry is not None:
        moves.ask(
            session=session,
            user=user,
            entry=entry,
            agency_id=data.agency_id,
            unit=data.work_unit,
            address=address,
        )
        flags.add("move")
    after = {"agency_id": user.agency_id, "work_unit": user.work_unit}
    if after != before:
        # a move leaves one agency's (or unit's) reports and enters another's: on the record
        audit.record(
            session=session,
            actor_id=user.id,
            action="account.move",
            subject_type="user",
            subject_id=user.nip,
            detail={"from": before, "to": after},
            address=address,
        )
    if new_email is not None:
        locale = user.locale or settings.default_locale
        token = links.make(session, user, links.EMAIL, links.EMAIL_LIFETIME, to=new_email)
        base = settings.base_url.rstrip("/")
        try:
            mail.queue(
                session,
                settings,
                to=new_email,
                name=user.name,
                locale=locale,
                template="email_confirm",
                context={"name": user.name, "link": f"{base}/confirm-email/{token}"},
                purpose="email-confirm",
                user_id=user.id,
            )
            mail.queue(
                session,
                settings,
                to=user.email or "",
                name=user.name,
                locale=locale,
                template="email_notice",
                context={"name": user.name, "new_email": new_email},
                purpose="email-notice",
                user_id=user.id,
            )
        except mail.MailRefused as exc:
            session.rollback()
            raise FormError({"email": N_("Mail cannot be sent from this site now.")}) from exc
    session.commit()
    session.refresh(user)
    if new_email is not None:
        flags.add("email")
    return flags


def email_link_address(*, session: Session, token: str) -> str | None:
    """The new address a confirmation link is for, if it still works (nothing is written)."""
    return links.address_of(session, token, links.EMAIL)


def confirm_email(*, session: Session, token: str, address: str) -> User:
    """Make the link's address the account's email, once (audited). LinkInvalid."""
    new_email = links.address_of(session, token, links.EMAIL)
    user = links.redeem(session, token, links.EMAIL)
    if user is None or new_email is None:
        session.rollback()
        raise LinkInvalid
    old = user.email
    user.email = new_email
    if user.email_verified_at is None:  # the link was opened from the address: it is read
        _verified_now(session, user)
    session.add(user)
    audit.record(
        session=session,
        actor_id=user.id,
        action="account.email_change",
        subject_type="user",
        subject_id=user.nip,
        detail={"from": old, "to": new_email},
        address=address,
    )
    try:
        session.commit()
    except IntegrityError:  # taken by someone else at this very moment
        session.rollback()
        raise LinkInvalid from None
    session.refresh(user)
    return user


def _agency_name(session: Session, user: User) -> str:
    agency = agencies_service.get(session=session, agency_id=user.agency_id)
    return agency.name if agency else ""


def change_password(
    *, session: Session, user: User, current: str, new: str, confirm: str, keep_token: str | None
) -> None:
    """Change the password and log out every other session of the user."""
    errors: dict[str, str] = {}
    if not security.verify_password(current, user.password_hash):
        errors["current_password"] = N_("Your current password is not correct.")
    problem = _password_problem(session, user, new)
    if problem:
        errors["new_password"] = problem
    elif new == current:
        errors["new_password"] = N_("Choose a password different from your current one.")
    elif new != confirm:
        errors["new_password_confirm"] = N_("The two passwords do not match.")
    if errors:
        raise FormError(errors)
    user.password_hash = security.hash_password(new)
    session.add(user)
    keep = security.token_digest(keep_token) if keep_token else ""
    session.exec(
        delete(AuthSession).where(
            col(AuthSession.user_id) == user.id,
            col(AuthSession.id) != keep,
        )
    )
    session.commit()


def reset_password(*, session: Session, user: User, new: str) -> None:
    """Set a new password for a user (by an administrator) and end all their sessions."""
    problem = _password_problem(session, user, new)
    if problem:
        raise FormError({"password": problem})
    user.password_hash = security.hash_password(new)
    session.add(user)
    session.exec(delete(AuthSession).where(col(AuthSession.user_id) == user.id))
    conn = session.connection()
    subject = _subject(user, "")
    ratelimit.clear(conn, [ratelimit.key("login-id", subject)])
    ratelimit.clear(conn, prefix=_pair_prefix(subject))
    session.commit()


def set_locale(*, session: Session, user: User, locale: str) -> None:
    """Remember the user's language on their profile."""
    user.locale = locale
    session.add(user)
    session.commit()


def roles_of(*, session: Session, user_id: int) -> set[str]:
    """The roles granted to a user beyond learner."""
    return set(session.exec(select(RoleGrant.role).where(RoleGrant.user_id == user_id)).all())


def names(*, session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """Display names by user id."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    rows = session.exec(select(User.id, User.name).where(col(User.id).in_(wanted))).all()
    return {user_id: name for user_id, name in rows if user_id is not None}


def get_by_nip(*, session: Session, nip: str) -> User | None:
    """A user by NIP, or None."""
    return session.exec(select(User).where(User.nip == normalise(nip))).first()


def colleague_with_address(*, session: Session, user_id: int, email: str) -> bool:
    """Whether an active account of the same agency as `user_id` (not theirs) has this
    address: a supervisor the roster knows, rather than any mailbox."""
    person = session.get(User, user_id)
    if person is None or not email:
        return False
    found = session.exec(
        select(User.id).where(
            func.lower(User.email) == email.strip().lower(),
            col(User.agency_id) == person.agency_id,
            col(User.active) == true(),
            col(User.id) != user_id,
        )
    ).first()
    return found is not None


def held_since(*, session: Session, user_id: int) -> datetime | None:
    """When the account passed to its present holder through a NIP dispute (None: it has
    been theirs from the start): what happened before belongs to the former holder."""
    return session.exec(
        select(func.max(NipDispute.resolved_at)).where(
            col(NipDispute.holder_id) == user_id, col(NipDispute.status) == "transferred"
        )
    ).one()


def acknowledge_privacy(*, session: Session, user_id: int, version: str) -> None:
    """Record that the person acknowledged this version of the privacy notice."""
    session.execute(
        update(User)
        .where(col(User.id) == user_id)
        .values(privacy_version=version, privacy_acknowledged_at=utcnow())
    )
    session.commit()


def placements(*, session: Session, user_id: int) -> list[tuple[int, str, Any, Any]]:
    """Where the person was, when: (agency, work unit, from, until), None for open ends,
    from the audited moves (`account.move`) and where they are now. Rosters re-placing
    someone before they claimed the account are not in it (docs/privacy.md)."""
    user = get(session=session, user_id=user_id)
    moves = audit.for_subject(session=session, subject_type="user", subject_id=user.nip)
    spans: list[tuple[int, str, Any, Any]] = []
    start = None
    for event, _who in moves:
        if event.action != "account.move":
            continue
        try:
            before = json.loads(event.detail)["from"]
            spans.append((int(before["agency_id"]), str(before["work_unit"]), start, event.at))
        except (ValueError, KeyError, TypeError):
            continue
        start = event.at
    spans.append((user.agency_id, user.work_unit, start, None))
    return spans


def export_profile(*, session: Session, user_id: int) -> dict[str, object]:
    """The account as stored (never the password hash, tokens or links' secrets), for the
    data download: the profile, logins, roles, API tokens, mailed links, rosters uploaded,
    the roster's listing, NIP disputes about the account (without the claimant's name,
    address, statement or the officer's note: not this person's) and those the person
    decided. After a NIP dispute's transfer, only what is the present holder's."""
    user = get(session=session, user_id=user_id)
    agency = agencies_service.get(session=session, agency_id=user.agency_id)
    since = held_since(session=session, user_id=user_id)

    def after(column: Any) -> list[Any]:
        return [col(column) >= since] if since is not None else []

    third_party = ("claimant_name", "claimant_email", "statement", "note", "locale")
    entry = session.get(RosterEntry, user.nip)
    return {
        "nip": user.nip,
        "employment_type": user.employment_type,
        "name": user.name,
        "email": user.email,
        "email_confirmed_at": personal_data.plain(user.email_verified_at),
        "agency": {"code": agency.code, "name": agency.name} if agency else None,
        "work_unit": user.work_unit,
        "position": user.position,
        "grade": user.grade,
        "language": user.locale,
        "reminders_by_mail": user.reminders,
        "active": user.active,
        "registered_at": as_utc(user.created_at).isoformat(),
        "privacy_notice_acknowledged": {
            "version": user.privacy_version,
            "at": personal_data.plain(user.privacy_acknowledged_at),
        },
        "roster_listing": {
            "agency_id": entry.agency_id,
            "work_unit": entry.work_unit,
            "email": entry.email,
            "recorded_at": personal_data.plain(entry.recorded_at),
        }
        if entry is not None
        else None,
        "roles": personal_data.rows_of(session, RoleGrant, col(RoleGrant.user_id) == user_id),
        "roles_granted_to_others": personal_data.rows_of(
            session,
            RoleGrant,
            col(RoleGrant.granted_by) == user_id,
            *after(RoleGrant.created_at),
        ),
        "sessions": [
            {
                "started_at": as_utc(s.created_at).isoformat(),
                "last_seen_at": as_utc(s.last_seen_at).isoformat(),
                "expires_at": as_utc(s.expires_at).isoformat(),
                "device": s.user_agent,
            }
            for s in session.exec(select(AuthSession).where(AuthSession.user_id == user_id))
        ],
        "api_tokens": personal_data.rows_of(
            session, ApiToken, col(ApiToken.user_id) == user_id, *after(ApiToken.created_at)
        ),
        "mailed_links": personal_data.rows_of(
            session,
            AccountLink,
            col(AccountLink.user_id) == user_id,
            *after(AccountLink.created_at),
        ),
        "roster_uploads": personal_data.rows_of(
            session,
            RosterUpload,
            col(RosterUpload.user_id) == user_id,
            *after(RosterUpload.created_at),
        ),
        "nip_disputes_about_this_account": personal_data.rows_of(
            session, NipDispute, col(NipDispute.holder_id) == user_id, omit=third_party
        ),
        "nip_disputes_decided": personal_data.rows_of(
            session,
            NipDispute,
            col(NipDispute.resolved_by) == user_id,
            *after(NipDispute.created_at),
            omit=("claimant_email", "statement", "locale"),
        ),
        "move_requests": personal_data.rows_of(
            session, MoveRequest, col(MoveRequest.user_id) == user_id, omit=("user_id",)
        ),
        "move_requests_decided": personal_data.rows_of(
            session, MoveRequest, col(MoveRequest.decided_by) == user_id, omit=("note",)
        ),
        "erasure_requests": personal_data.rows_of(
            session, ErasureRequest, col(ErasureRequest.user_id) == user_id, omit=("user_id",)
        ),
        "erasure_requests_decided": personal_data.rows_of(
            session,
            ErasureRequest,
            col(ErasureRequest.decided_by) == user_id,
            omit=("reason", "note"),
        ),
    }


PERSONAL_TABLES = (
    "erasure_request",
    "move_request",
    "user",
    "roster_entry",
    "auth_session",
    "role_grant",
    "api_token",
    "account_link",
    "roster_upload",
    "nip_dispute",
)


# ---- people, for other modules' set-based SQL ------------------------------------------------

NIP_CHUNK = 5000  # NIPs per statement: well under any database's limit on bound values


def member_ids(
    *, agency_id: int, unit: str | None = None, nips: tuple[str, ...] = ()
) -> list[Select[Any]]:
    """Queries of the ids of an agency's active people (in one work unit, among listed NIPs),
    one per chunk of NIPs: for work done in SQL over a group (assigning a course)."""
    base = [col(User.agency_id) == agency_id, col(User.active) == true()]
    if unit:
        base.append(func.lower(col(User.work_unit)) == unit.lower())
    if not nips:
        return [select(User.id).where(*base)]
    return [
        select(User.id).where(*base, col(User.nip).in_(nips[i : i + NIP_CHUNK]))
        for i in range(0, len(nips), NIP_CHUNK)
    ]


def ids_in_scope(*, scope: Scope, agency_id: int | None = None) -> Select[Any]:
    """A query of the ids of the people a scope covers (by their current agency and unit),
    optionally of one agency: for other modules' lists filtered by whom an officer manages."""
    stmt = select(User.id)
    limit = scope.where(col(User.agency_id), col(User.work_unit))
    if limit is not None:
        stmt = stmt.where(limit)
    if agency_id is not None:
        stmt = stmt.where(col(User.agency_id) == agency_id)
    return stmt


def applied_roster(
    *, session: Session, upload_id: str, user_id: int, admin: bool
) -> RosterUpload | None:
    """An applied roster upload of this officer (an admin: anyone's), or None."""
    if not upload_id:
        return None
    upload = roster_uploads.get(session=session, upload_id=upload_id, user_id=user_id, admin=admin)
    return upload if upload is not None and upload.applied_at is not None else None


def roster_nips(upload: RosterUpload) -> tuple[str, ...]:
    """The NIPs of a roster upload, in file order."""
    table = roster_uploads.table_of(upload)
    return tuple(dict.fromkeys(normalise(row.cells[0]) for row in table.rows if row.cells))


# ---- self-service password reset ------------------------------------------------------------

RESETS_PER_ACCOUNT_HOUR = 3
RESETS_PER_ADDRESS_HOUR = 10


class LinkInvalid(Exception):
    """A mailed link that does not work (unknown, used, expired, or for an old address)."""


def request_reset(*, session: Session, settings: Any, identifier: str, address: str) -> None:
    """Mail a password-reset link to the account of `identifier` (NIP or email), if there is
    one and neither it nor the address asked too often in the last hour. The caller answers
    the same whatever happened, so nobody learns which NIPs or addresses have accounts; the
    work done is the same too (a mail is composed either way)."""
    ident, user = _by_identifier(session, identifier)
    allowed = _within_the_hour(
        session,
        "reset",
        subject=_subject(user, ident),
        address=address,
        per_account=RESETS_PER_ACCOUNT_HOUR,
        per_address=RESETS_PER_ADDRESS_HOUR,
    )
    locale = (user.locale if user else None) or settings.default_locale
    context = {"name": user.name if user else "", "minutes": 30}
    if user is None or not user.active or not allowed:
        mail.compose(
            "reset", locale, {**context, "link": "", "base_url": "", "site": "", "locale": locale}
        )
        session.commit()
        return
    if invitations.unclaimed_roster_account(user):
        # an account a roster made is claimed only through its invitation: that is what
        # "forgot my password" sends for one (to the same address a reset link would go)
        invitations.send(session=session, settings=settings, user=user, by=None, address=address)
        session.commit()
        return
    token = links.make(session, user, links.RESET, links.RESET_LIFETIME)
    try:
        mail.queue(
            session,
            settings,
            to=user.email or "",
            name=user.name,
            locale=locale,
            template="reset",
            context={**context, "link": f"{settings.base_url.rstrip('/')}/reset-password/{token}"},
            purpose="reset",
            user_id=user.id,
        )
    except mail.MailRefused:
        log.exception("password reset mail for user %s refused", user.id)
        session.rollback()
        return
    session.commit()


def reset_by_link(*, session: Session, token: str, new: str, confirm: str, address: str) -> User:
    """Set a new password through a reset link, once: the link is used, every session of the
    person ends and their login lockout lifts (audited). LinkInvalid or FormError."""
    user = _password_by_link(session, token, links.RESET, new, confirm)
    audit.record(
        session=session,
        actor_id=user.id,
        action="account.password_reset",
        subject_type="user",
        subject_id=user.nip,
        detail={"by": "emailed link"},
        address=address,
    )
    reset_password(session=session, user=user, new=new)  # commits the link's use with it
    return user


def reset_link_user(*, session: Session, token: str) -> User | None:
    """The person a reset link is for, if it still works (nothing is written)."""
    return links.peek(session, token, links.RESET)


# ---- the address of a new account, verified ------------------------------------------------

EMAIL_VERIFIED_JOB = "account.email_verified"  # the learning workflow issues what is owed
TRANSFERRED_JOB = disputes.TRANSFERRED_JOB  # the learning workflow re-issues the certificates
VERIFICATIONS_PER_ACCOUNT_HOUR = 3
VERIFICATIONS_PER_ADDRESS_HOUR = 10
REMIND_AFTER = timedelta(days=1)  # a login of an unverified account re-sends after this


def is_verified(*, session: Session, user_id: int) -> bool:
    """Whether the person has shown they read mail at their address."""
    user = session.get(User, user_id)
    return user is not None and user.email_verified_at is not None


def send_verification(
    *, session: Session, settings: Any, user: User, address: str, unless_recent: bool = False
) -> bool:
    """Mail a link that confirms the account's address (limited per account and address;
    with `unless_recent`, not when one went out in the last day). Commits. True if sent."""
    if user.email_verified_at is not None or user.id is None:
        return False
    if unless_recent:
        last = links.latest(session, user.id, links.VERIFY)
        if last is not None and as_utc(last.created_at) > utcnow() - REMIND_AFTER:
            return False
    if not _within_the_hour(
        session,
        "verify",
        subject=_subject(user, ""),
        address=address,
        per_account=VERIFICATIONS_PER_ACCOUNT_HOUR,
        per_address=VERIFICATIONS_PER_ADDRESS_HOUR,
    ):
        session.commit()
        return False
    token = links.make(session, user, links.VERIFY, links.VERIFY_LIFETIME)
    try:
        mail.queue(
            session,
            settings,
            to=user.email or "",
            name=user.name,
            locale=user.locale or settings.default_locale,
            template="verify",
            context={
                "name": user.name,
                "link": f"{settings.base_url.rstrip('/')}/verify-email/{token}",
            },
            purpose="verify",
            user_id=user.id,
        )
    except mail.MailRefused:
        log.exception("verification mail for user %s refused", user.id)
        session.rollback()
        return False
    session.commit()
    return True


def verification_link_user(*, session: Session, token: str) -> User | None:
    """The person a verification link is for, if it still works (nothing is written)."""
    return links.peek(session, token, links.VERIFY)


def _verified_now(session: Session, user: User) -> None:
    """Record the address as read, and owe what waited for it (in the caller's transaction):
    the learning workflow issues the certificates of completions recorded meanwhile."""
    user.email_verified_at = utcnow()
    jobs.enqueue(
        session,
        EMAIL_VERIFIED_JOB,
        {"user_id": user.id},
        key=f"verified/{user.id}/{user.email}",
        user_id=user.id,
    )


def verify_email(*, session: Session, token: str, address: str) -> User:
    """Confirm the account's address through its link, once (audited). LinkInvalid."""
    user = links.redeem(session, token, links.VERIFY)
    if user is None:
        session.rollback()
        raise LinkInvalid
    if user.email_verified_at is None:
        _verified_now(session, user)
        session.add(user)
        audit.record(
            session=session,
            actor_id=user.id,
            action="account.email_verified",
            subject_type="user",
            subject_id=user.nip,
            detail={"email": user.email},
            address=address,
        )
    session.commit()
    session.refresh(user)
    return user


# ---- reminders by mail, and leaving them without logging in ----------------------------------


def reminder_recipients() -> Select[Any]:
    """A query of the ids of people who get due-date reminders: active, claimed, with an
    address, and not unsubscribed."""
    return select(User.id).where(
        col(User.active) == true(),
        col(User.reminders) == true(),
        col(User.password_hash) != "",
        col(User.email).is_not(None),
    )


def _unsubscribe_mac(secret: str, user_id: int) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe:reminders:{user_id}".encode(), "sha256")
    return digest.hexdigest()[:32]


def unsubscribe_token(*, secret: str, user_id: int) -> str:
    """The token of a person's unsubscribe link (it does not expire: RFC 8058 links must keep
    working; it only ever turns reminders off)."""
    return f"{user_id}.{_unsubscribe_mac(secret, user_id)}"


def queue_reminder(
    session: Session,
    settings: Any,
    *,
    user: User,
    template: str,
    context: dict[str, Any],
    purpose: str,
) -> None:
    """Queue a reminder mail to a person in their language, with the page that turns
    reminders off (`unsubscribe` in the template's context) and the RFC 8058 one-click
    header, in the caller's transaction (mail.MailRefused when it cannot go)."""
    token = unsubscribe_token(secret=settings.secret_key, user_id=_id(user))
    base = settings.base_url.rstrip("/")
    mail.queue(
        session,
        settings,
        to=user.email or "",
        name=user.name,
        locale=user.locale or settings.default_locale,
        template=template,
        context={**context, "unsubscribe": f"{base}/unsubscribe/{token}"},
        purpose=purpose,
        user_id=user.id,
        headers={
            "List-Unsubscribe": f"<{base}/api/unsubscribe/{token}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def unsubscribe_user(*, session: Session, secret: str, token: str) -> User | None:
    """The person an unsubscribe token is for, or None."""
    user_part, _dot, mac = token.partition(".")
    if not (user_part.isascii() and user_part.isdigit()) or len(user_part) > 12 or len(mac) != 32:
        return None
    if not hmac.compare_digest(mac, _unsubscribe_mac(secret, int(user_part))):
        return None
    return session.get(User, int(user_part))


def set_reminders(*, session: Session, user: User, on: bool, address: str, how: str) -> None:
    """Turn a person's due-date reminders on or off (audited when it changes)."""
    if user.reminders == on:
        return
    user.reminders = on
    session.add(user)
    audit.record(
        session=session,
        actor_id=user.id,
        action="account.reminders",
        subject_type="user",
        subject_id=user.nip,
        detail={"on": on, "by": how},
        address=address,
    )
    session.commit()
