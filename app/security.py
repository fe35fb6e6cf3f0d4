"""Passwords, session tokens, CSRF tokens and the security headers every response carries."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
SESSION_COOKIE = "bk_session"
CSRF_COOKIE = "bk_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LANG_COOKIE = "bk_lang"

_hasher = PasswordHasher()
# Verified against when an account does not exist, so timing does not reveal which NIPs exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def session_cookie(token: str, *, days: int, secure: bool) -> str:
    """The Set-Cookie value for a login session (sent at login and when the session slides)."""
    flags = "; Secure" if secure else ""
    return (
        f"{SESSION_COOKIE}={token}; Path=/; Max-Age={days * 86400}; HttpOnly; SameSite=Lax{flags}"
    )


def hash_password(password: str) -> str:
    """argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when the password matches; spends the same time when there is no account. An
    empty hash (an account made from a roster, not yet claimed) never matches."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh random token for a cookie."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def user_tag(secret_key: str, user_id: int | None) -> str:
    """An opaque, stable tag of a person for their own pages (empty when nobody is logged in):
    the offline queue binds what it keeps on a device to it, and a page whose tag differs from
    the one the device kept forgets the other person's kept pages and queue."""
    if user_id is None:
        return ""
    digest = hmac.new(secret_key.encode(), f"user-tag:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:20]


def _csrf_digest(secret_key: str, cookie_value: str) -> bytes:
    return hmac.new(secret_key.encode(), cookie_value.encode(), hashlib.sha256).digest()


def csrf_token(secret_key: str, cookie_value: str) -> str:
    """The token forms must echo: an HMAC of the visitor's CSRF cookie under the site secret,
    masked with fresh random bytes on every page so that compressed responses never repeat it
    (BREACH)."""
    mask = secrets.token_bytes(32)
    digest = _csrf_digest(secret_key, cookie_value)
    return (mask + bytes(m ^ d for m, d in zip(mask, digest, strict=True))).hex()


def csrf_valid(secret_key: str, cookie_value: str | None, submitted: str | None) -> bool:
    """True when the submitted token belongs to this visitor's cookie."""
    if not cookie_value or not submitted or len(submitted) != 128:
        return False
    try:
        raw = bytes.fromhex(submitted)
    except ValueError:
        return False
    digest = bytes(m ^ d for m, d in zip(raw[:32], raw[32:], strict=True))
    return hmac.compare_digest(digest, _csrf_digest(secret_key, cookie_value))
