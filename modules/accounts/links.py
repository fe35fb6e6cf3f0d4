"""Single-use links mailed to people: made with a purpose and a lifetime, kept as the SHA-256
of their token, redeemed once (one conditional UPDATE decides, so two clicks at once cannot
both succeed). Looking at a link (the page that asks for the new password) never uses it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.clock import as_utc, utcnow
from modules.accounts.models import AccountLink, User

RESET = "reset"
RESET_LIFETIME = timedelta(minutes=30)
VERIFY = "verify"  # the address of a new account
VERIFY_LIFETIME = timedelta(days=7)
EMAIL = "email"  # a new address, confirmed from that address
EMAIL_LIFETIME = timedelta(hours=24)
INVITE = "invite"  # an account a roster made, claimed from the roster's address
INVITE_LIFETIME = timedelta(days=14)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make(
    session: Session, user: User, purpose: str, lifetime: timedelta, to: str | None = None
) -> str:
    """A new link for `user`, mailed to `to` (default: their address), in the caller's
    transaction; earlier unused links of the same purpose stop working. Returns the token
    (only the mail carries it)."""
    assert user.id is not None
    sent_to = to or user.email
    if not sent_to:
        raise ValueError("a link needs an address to go to")
    now = utcnow()
    session.execute(
        update(AccountLink)
        .where(
            col(AccountLink.user_id) == user.id,
            col(AccountLink.purpose) == purpose,
            col(AccountLink.used_at).is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountLink(
            token_hash=_hash(token),
            user_id=user.id,
            purpose=purpose,
            sent_to=sent_to,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def _usable(session: Session, token: str, purpose: str) -> tuple[AccountLink, User] | None:
    if not 20 <= len(token) <= 100 or not token.isascii():
        return None
    link = session.get(AccountLink, _hash(token))
    if link is None or link.purpose != purpose or link.used_at is not None:
        return None
    if as_utc(link.expires_at) <= utcnow():
        return None
    user = session.get(User, link.user_id)
    if user is None or not user.active:
        return None
    if purpose == EMAIL:  # the new address must still be free
        taken = session.exec(
            select(User.id).where(col(User.email) == link.sent_to, col(User.id) != user.id)
        ).first()
        return None if taken else (link, user)
    if purpose == INVITE and user.password_hash:  # claimed already (by this link or a reset)
        return None
    # a link went to one address: once the account's email changed, it no longer vouches
    return (link, user) if user.email == link.sent_to else None


def latest(session: Session, user_id: int, purpose: str) -> AccountLink | None:
    """The newest link of `purpose` made for the person."""
    return session.exec(
        select(AccountLink)
        .where(col(AccountLink.user_id) == user_id, col(AccountLink.purpose) == purpose)
        .order_by(col(AccountLink.created_at).desc())
    ).first()


def address_of(session: Session, token: str, purpose: str) -> str | None:
    """The address a working link was mailed to."""
    found = _usable(session, token, purpose)
    return found[0].sent_to if found else None


def peek(session: Session, token: str, purpose: str) -> User | None:
    """The person a link is for, if it still works (nothing is written)."""
    found = _usable(session, token, purpose)
    return found[1] if found else None


def redeem(session: Session, token: str, purpose: str) -> User | None:
    """Use the link (in the caller's transaction): its person, or None if it does not work or
    another request used it first."""
    found = _usable(session, token, purpose)
    if found is None:
        return None
    link, user = found
    used = (
        session.connection()
        .execute(
            update(AccountLink)
            .where(
                col(AccountLink.token_hash) == link.token_hash, col(AccountLink.used_at).is_(None)
            )
            .values(used_at=utcnow())
        )
        .rowcount
    )
    return user if used else None
