"""Who is asking: load the user from the session cookie, or refuse."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.db import SessionDep
from app.errors import LoginRequired
from app.security import SESSION_COOKIE
from modules.accounts import service
from modules.accounts.schemas import Principal


def optional_user(request: Request, session: SessionDep) -> Principal | None:
    """The logged-in user or None; also exposed to templates as `user`."""
    if hasattr(request.state, "user"):
        return request.state.user  # type: ignore[no-any-return]
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        days = request.app.state.settings.session_days
        user = service.principal_for_token(session=session, token=token, days=days)
    request.state.user = user
    return user


async def require_user(user: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    """The logged-in user; anyone else is sent to the login page."""
    if user is None:
        raise LoginRequired
    return user


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(require_user)]
