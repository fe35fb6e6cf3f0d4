"""API tokens for HR systems: made by HR officers and admins, shown once, stored as a SHA-256.
A token carries no scope of its own: it reads with its owner's current HR scope, so
withdrawing a grant takes effect on the next call."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, true, update
from sqlmodel import Session, col, select

from app.clock import as_utc, utcnow
from app.i18n import N_
from modules.accounts.models import ApiToken, User
from modules.audit import service as audit

SECRET_PREFIX = "bk_"  # noqa: S105 - the marker of our tokens, not a secret
PREFIX_LENGTH = 11  # "bk_" and 8 random characters: enough to tell one's tokens apart
DEFAULT_DAYS = 365
MAX_DAYS = 730
# Writing last_used_at on every call would turn each read into a write; once a minute still
# tells an officer whether a token is in use.
TOUCH_EVERY = timedelta(minutes=1)


class TokenFormError(ValueError):
    """The new-token form has problems; `errors` maps field name to a message id."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class TokenInput:
    name: str
    days: int


def parse_form(data: dict[str, str]) -> TokenInput:
    """A name (what the token is for) and its lifetime in days, 1 to 730 (default 365)."""
    errors: dict[str, str] = {}
    name = " ".join((data.get("name") or "").split())
    if not name:
        errors["name"] = N_("Say what the token is for, e.g. the name of your HR system.")
    elif len(name) > 100 or not name.isprintable():
        errors["name"] = N_("Use at most 100 ordinary characters for the name.")
    days_text = (data.get("days") or "").strip() or str(DEFAULT_DAYS)
    days = int(days_text) if days_text.isdigit() and len(days_text) < 5 else 0
    if not 1 <= days <= MAX_DAYS:
        errors["days"] = N_("Give a number of days from 1 to 730.")
    if errors:
        raise TokenFormError(errors)
    return TokenInput(name, days)


def digest(secret: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    *, session: Session, user_id: int, data: TokenInput, address: str
) -> tuple[ApiToken, str]:
    """A new token for the user and its secret, which exists only in this return value. Commits,
    with an audit event."""
    now = utcnow()
    # One live token per name: reloading the page that showed a secret posts the form again,
    # which must not make a second token whose secret nobody saw.
    same_name = session.exec(
        select(ApiToken.id).where(
            col(ApiToken.user_id) == user_id,
            col(ApiToken.name) == data.name,
            col(ApiToken.revoked_at).is_(None),
            col(ApiToken.expires_at) > now,
        )
    ).first()
    if same_name is not None:
        message = N_("You already have a live token with this name; revoke it or choose another.")
        raise TokenFormError({"name": message})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)  # 43 random characters, 256 bits
    token = ApiToken(
        user_id=user_id,
        name=data.name,
        token_hash=digest(secret),
        prefix=secret[:PREFIX_LENGTH],
        created_at=now,
        expires_at=now + timedelta(days=data.days),
    )
    session.add(token)
    session.flush()
    audit.record(
        session=session,
        actor_id=user_id,
        action="api_token.create",
        subject_type="api_token",
        subject_id=token.id,  # type: ignore[arg-type]
        detail={"name": token.name, "prefix": token.prefix, "expires": token.expires_at},
        address=address,
    )
    session.commit()
    session.refresh(token)
    return token, secret


def owned(*, session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first (revoked and expired ones too: the list is their history)."""
    return list(
        session.exec(
            select(ApiToken)
            .where(col(ApiToken.user_id) == user_id)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        ).all()
    )


def status(token: ApiToken, now: datetime | None = None) -> str:
    """active, expired or revoked."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and as_utc(token.expires_at) <= now:
        return "expired"
    return "active"


def revoke(*, session: Session, user_id: int, token_id: int, address: str) -> bool:
    """Revoke one of the user's own tokens; False when they have no such token (someone
    else's is treated as unknown). Revoking twice keeps the first time. Commits."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        return False
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(
            session=session,
            actor_id=user_id,
            action="api_token.revoke",
            subject_type="api_token",
            subject_id=token_id,
            detail={"name": token.name, "prefix": token.prefix},
            address=address,
        )
        session.commit()
    return True


def authenticate(*, session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret whose owner's account is active, or None. Marks it
    used (at most once a minute, in a conditional update any process may race on)."""
    if not secret.startswith(SECRET_PREFIX) or not 20 <= len(secret) <= 200:
        return None  # not one of ours: no database work
    found = session.exec(
        select(ApiToken)
        .join(User, col(User.id) == ApiToken.user_id)
        .where(col(ApiToken.token_hash) == digest(secret), col(User.active) == true())
    ).first()
    if found is None or status(found) != "active":
        return None
    now = utcnow()
    session.connection().execute(
        update(ApiToken)
        .where(
            col(ApiToken.id) == found.id,
            or_(
                col(ApiToken.last_used_at).is_(None),
                col(ApiToken.last_used_at) < now - TOUCH_EVERY,
            ),
        )
        .values(last_used_at=now)
    )
    session.commit()
    return found
