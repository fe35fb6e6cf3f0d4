"""Who is asking: load the user from the session cookie, or refuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.db import SessionDep, run_read, run_write
from app.errors import LoginRequired
from app.security import SESSION_COOKIE, session_cookie
from modules.accounts import service
from modules.accounts.schemas import Principal


async def _load_user(request: Request) -> Principal | None:
    if hasattr(request.state, "user"):
        return request.state.user  # type: ignore[no-any-return]
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        engine = request.app.state.engine
        user, stale = await run_read(
            engine, lambda conn: service.principal_for_token(conn=conn, token=token)
        )
        if user is not None and stale:
            settings = request.app.state.settings
            days = settings.session_days
            await run_write(
                engine, lambda conn: service.extend_session(conn=conn, token=token, days=days)
            )
            # The browser's copy must slide too, or it would expire `days` after login.
            cookie = session_cookie(token, days=days, secure=settings.secure_cookies)
            request.state.set_cookies = [*getattr(request.state, "set_cookies", []), cookie]
    request.state.user = user
    return user


async def optional_user(request: Request) -> Principal | None:
    """The logged-in user or None; also exposed to templates as `user`."""
    return await _load_user(request)


async def require_user(request: Request) -> Principal:
    """The logged-in user; anyone else is sent to the login page."""
    user = await _load_user(request)
    if user is None:
        raise LoginRequired
    return user


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting only users granted one of `roles` (403 for other learners)."""

    def dependency(
        session: SessionDep, user: Annotated[Principal, Depends(require_user)]
    ) -> Principal:
        if not service.roles_of(session=session, user_id=user.id) & set(roles):
            raise HTTPException(403)
        return user

    return dependency


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(require_user)]
TrainerOrAdmin = Annotated[Principal, Depends(require_roles("trainer", "admin"))]
