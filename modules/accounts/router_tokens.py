"""API tokens for HR officers and admins: make one (its secret shown once), list one's own,
revoke them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth import Principal, StaffUser
from app.db import SessionDep
from app.forms import FormData, RowId, client_address
from app.templating import render
from modules.accounts import tokens

router = APIRouter()
# The page with a new secret must not stay in a browser cache or history.
NO_STORE = {"Cache-Control": "no-store"}


def _page(
    request: Request,
    session: Session,
    user: Principal,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    secret: str | None = None,
    status_code: int = 200,
) -> Response:
    rows: list[tuple[Any, str]] = [
        (t, tokens.status(t)) for t in tokens.owned(session=session, user_id=user.id)
    ]
    context = {
        "rows": rows,
        "values": values or {"days": str(tokens.DEFAULT_DAYS)},
        "errors": errors or {},
        "secret": secret,
        "max_days": tokens.MAX_DAYS,
    }
    return render(
        request, "accounts/api_tokens.html", context, status_code=status_code, headers=NO_STORE
    )


@router.get("/manage/api-tokens")
def tokens_page(request: Request, session: SessionDep, user: StaffUser) -> Response:
    """The officer's own tokens and the form for a new one."""
    return _page(request, session, user)


@router.post("/manage/api-tokens")
def token_create(
    request: Request, session: SessionDep, user: StaffUser, form: FormData
) -> Response:
    """Make a token and show its secret, this once (only its SHA-256 is kept)."""
    try:
        data = tokens.parse_form(form)
        _token, secret = tokens.create(
            session=session, user_id=user.id, data=data, address=client_address(request)
        )
    except tokens.TokenFormError as exc:
        return _page(request, session, user, values=form, errors=exc.errors, status_code=422)
    return _page(request, session, user, secret=secret)


@router.post("/manage/api-tokens/{token_id}/revoke")
def token_revoke(
    request: Request, session: SessionDep, user: StaffUser, token_id: RowId
) -> Response:
    """Revoke one of one's own tokens; anyone else's is not found."""
    if not tokens.revoke(
        session=session, user_id=user.id, token_id=token_id, address=client_address(request)
    ):
        raise HTTPException(404)
    return RedirectResponse("/manage/api-tokens", status_code=303)
