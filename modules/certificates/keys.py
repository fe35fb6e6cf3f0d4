"""The platform's signing keys: generate, rotate, publish (JWKS).

New keys are RSA (2048 bits) for RS256, the algorithm every Open Badges 3.0 verifier must
support (OB 3.0 §8.2, "Create the JOSE Header"); keys made before are Ed25519 (EdDSA) and stay
published. The newest key that is not retired signs new credentials; at start-up an active
EdDSA key is retired for a new RS256 one. Retired keys stay published, so a
credential keeps verifying for as long as it is valid. Private keys are kept in the database
as encrypted PKCS#8, with a password derived from BERAKHLAK_SECRET_KEY: after changing the
secret, run `berakhlak keys rotate` (with the new secret; rotating never opens the old keys, which
stay published) so that a key the server can open signs again (see docs/operations.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import OKPKey, RSAKey
from sqlmodel import Session, col, select

from app.clock import utcnow
from modules.certificates.models import SigningKey


class KeyUnavailable(RuntimeError):
    """The signing key cannot be opened (the secret changed since it was made)."""


def _password(secret: str) -> str:
    return hmac.new(secret.encode(), b"berakhlak signing key", hashlib.sha256).hexdigest()


RS256, EDDSA = "RS256", "EdDSA"
RSA_BITS = 2048
Key = OKPKey | RSAKey


def generate(*, session: Session, secret: str, alg: str = RS256) -> SigningKey:
    """Make a new signing key (RS256, or EdDSA); it becomes the one that signs. Commits."""
    key: Key = RSAKey.generate_key(RSA_BITS) if alg == RS256 else OKPKey.generate_key("Ed25519")
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    assert "d" not in public  # a public JWK never carries the private part
    row = SigningKey(
        kid=kid,
        alg=alg,
        public_jwk=json.dumps(public),
        private_pem=key.as_pem(private=True, password=_password(secret)).decode(),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def rotate(*, session: Session, secret: str, alg: str = RS256) -> tuple[list[str], SigningKey]:
    """Retire every active key and make a new one; the retired stay published. Returns the
    retired kids and the new key."""
    active = session.exec(select(SigningKey).where(col(SigningKey.retired_at).is_(None))).all()
    now = utcnow()
    for row in active:
        row.retired_at = now
        session.add(row)
    retired = [row.kid for row in active]
    session.commit()
    return retired, generate(session=session, secret=secret, alg=alg)


def _active(session: Session) -> SigningKey | None:
    return session.exec(
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None))
        .order_by(col(SigningKey.created_at).desc())
    ).first()


def ensure(*, session: Session, secret: str) -> SigningKey | None:
    """At start-up (never on a page view): make the first signing key of a fresh
    installation, or replace an active EdDSA key by an RS256 one (the EdDSA key stays
    published). The new key, or None when an RS256 key signs already."""
    active = _active(session)
    if active is None:
        return generate(session=session, secret=secret)
    if active.alg != RS256:
        return rotate(session=session, secret=secret)[1]
    return None


@dataclass(frozen=True)
class Signer:
    kid: str
    alg: str
    key: Key


def signing_key(*, session: Session, secret: str) -> Signer:
    """The key that signs now (KeyUnavailable when there is none, or it cannot be opened)."""
    row = _active(session)
    if row is None:
        raise KeyUnavailable("no signing key: run `berakhlak keys generate`")
    kind: type[RSAKey] | type[OKPKey] = RSAKey if row.alg == RS256 else OKPKey
    try:
        key = kind.import_key(row.private_pem.encode(), password=_password(secret))
    except (ValueError, TypeError) as exc:
        raise KeyUnavailable(
            f"signing key {row.kid} cannot be opened with the current secret"
        ) from exc
    return Signer(row.kid, row.alg, key)


def public(*, session: Session, kid: str) -> dict[str, Any] | None:
    """One published public key (its JWK), current or retired."""
    row = session.get(SigningKey, kid) if 0 < len(kid) <= 64 else None
    return json.loads(row.public_jwk) if row is not None else None


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
