"""API tokens for report API tests, made through the token service (the browser flow that
makes them is tested in tests/modules/accounts/test_tokens.py)."""

from __future__ import annotations

from sqlmodel import Session

from modules.accounts import service as accounts_service
from modules.accounts import tokens


def token_for(app, nip: str, days: int = 365) -> str:
    """A new token of the account with this NIP; returns its secret."""
    with Session(app.state.engine) as s:
        user = accounts_service.get_by_nip(session=s, nip=nip)
        assert user is not None
        _token, secret = tokens.create(
            session=s, user_id=user.id, data=tokens.TokenInput("test", days), address="test"
        )
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
