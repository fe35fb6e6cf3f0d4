"""The platform's Ed25519 signing keys: generate, rotate, publish (JWKS).

The newest key that is not retired signs new credentials. Retired keys stay published, so a
credential keeps verifying for as long as it is valid. Private keys are kept in the database
as encrypted PKCS#8, with a password derived from BERAKHLAK_SECRET_KEY: after changing the
secret, run `berakhlak keys rotate` (with the new secret; rotating never opens the old keys, which
stay published) so that a key the server can open signs again (see docs/operations.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from joserfc.jwk import OKPKey
from sqlmodel import Session, col, select

from app.clock import utcnow
from modules.certificates.models import SigningKey


class KeyUnavailable(RuntimeError):
    """The signing key cannot be opened (the secret changed since it was made)."""


def _password(secret: str) -> str:
    return hmac.new(secret.encode(), b"berakhlak signing key", hashlib.sha256).hexdigest()


def generate(*, session: Session, secret: str) -> SigningKey:
    """Make a new signing key; it becomes the one that signs. Commits."""
    key = OKPKey.generate_key("Ed25519")
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": "EdDSA", "use": "sig"}
    row = SigningKey(
        kid=kid,
        public_jwk=json.dumps(public),
        private_pem=key.as_pem(private=True, password=_password(secret)).decode(),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def rotate(*, session: Session, secret: str) -> tuple[list[str], SigningKey]:
    """Retire every active key and make a new one; the retired stay published. Returns the
    retired kids and the new key."""
    active = session.exec(select(SigningKey).where(col(SigningKey.retired_at).is_(None))).all()
    now = utcnow()
    for row in active:
        row.retired_at = now
        session.add(row)
    retired = [row.kid for row in active]
    session.commit()
    return retired, generate(session=session, secret=secret)


def _active(session: Session) -> SigningKey | None:
    return session.exec(
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None))
        .order_by(col(SigningKey.created_at).desc())
    ).first()


def ensure(*, session: Session, secret: str) -> SigningKey | None:
    """Make the first signing key of a fresh installation (at start-up, never on a page
    view); the new key, or None when one exists."""
    if _active(session) is not None:
        return None
    return generate(session=session, secret=secret)


def signing_key(*, session: Session, secret: str) -> tuple[str, OKPKey]:
    """The key that signs now (KeyUnavailable when there is none, or it cannot be opened)."""
    row = _active(session)
    if row is None:
        raise KeyUnavailable("no signing key: run `berakhlak keys generate`")
    try:
        key = OKPKey.import_key(row.private_pem.encode(), password=_password(secret))
    except (ValueError, TypeError) as exc:
        raise KeyUnavailable(
            f"signing key {row.kid} cannot be opened with the current secret"
        ) from exc
    return row.kid, key


def usable(*, session: Session, secret: str) -> bool:
    """Whether the key that signs opens with `secret` (True also when there is none yet: one
    is made at start-up)."""
    if _active(session) is None:
        return True
    try:
        signing_key(session=session, secret=secret)
    except KeyUnavailable:
        return False
    return True


def published(*, session: Session) -> list[dict[str, Any]]:
    """Every public key, newest first (the JWKS `keys`)."""
    rows = session.exec(select(SigningKey).order_by(col(SigningKey.created_at).desc())).all()
    return [json.loads(row.public_jwk) for row in rows]


def listing(*, session: Session) -> list[SigningKey]:
    """Every key, newest first (for `berakhlak keys list`)."""
    return list(session.exec(select(SigningKey).order_by(col(SigningKey.created_at).desc())).all())
