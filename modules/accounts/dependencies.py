"""Who is asking: load the user from the session cookie, or refuse."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from app.auth import Principal, StaffUser
from app.db import SessionDep, run_read, run_write
from app.errors import LoginRequired
from app.security import SESSION_COOKIE, session_cookie
from modules.accounts import grants, roster_uploads, service, tokens
from modules.accounts.grants import Scope
from modules.accounts.models import RosterUpload


class AccountsIdentity:
    """The platform's IdentityProvider (app/auth.py), backed by accounts' sessions and grants."""

    async def principal(self, request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
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
        return user

    def roles(self, session: Session, user_id: int) -> set[str]:
        return service.roles_of(session=session, user_id=user_id)

    def names(self, session: Session, user_ids: Iterable[int]) -> dict[int, str]:
        return service.names(session=session, user_ids=user_ids)


class DeferredUser:
    """The session cookie, checked inside the handler's own database work: for the hottest
    write requests (saving a quiz answer) this saves a thread hand-off per request. Anonymous
    visitors are refused before any work; an unknown or expired session when resolved."""

    def __init__(self, request: Request, token: str) -> None:
        self.request, self.token = request, token

    def resolve(self, conn: Connection) -> Principal:
        """The logged-in user, read on the caller's connection, or LoginRequired."""
        return self.resolve_with(conn, service.PRINCIPAL_BY_DIGEST)[0]

    def resolve_with(
        self, conn: Connection, statement: Select[Any], params: dict[str, Any] | None = None
    ) -> tuple[Principal, tuple[Any, ...]]:
        """The logged-in user and the extra columns of `statement` (a
        `service.principal_select(...)`), read in one round trip; or LoginRequired."""
        user, stale, extra = service.principal_with(
            conn=conn, token=self.token, statement=statement, params=params
        )
        if user is None:
            raise LoginRequired
        if stale:
            settings = self.request.app.state.settings
            service.extend_session(conn=conn, token=self.token, days=settings.session_days)
            conn.commit()
            cookie = session_cookie(
                self.token, days=settings.session_days, secure=settings.secure_cookies
            )
            self.request.state.set_cookies = [
                *getattr(self.request.state, "set_cookies", []),
                cookie,
            ]
        self.request.state.user = user
        return user, extra


async def deferred_user(request: Request) -> DeferredUser:
    """See DeferredUser; a request without a session cookie is sent to log in at once."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    return DeferredUser(request, token)


LoggedInLater = Annotated[DeferredUser, Depends(deferred_user)]


@dataclass(frozen=True)
class StaffScope:
    """HR or an admin, with whose people they manage."""

    user: Principal
    scope: Scope


def hr_or_admin(session: SessionDep, user: StaffUser) -> StaffScope:
    """HR (limited to the agencies or units of their grants) or an admin; an HR grant without
    an agency manages nobody and is refused."""
    scope = grants.hr_scope(session=session, user_id=user.id)
    if scope.empty:
        raise HTTPException(403)
    return StaffScope(user, scope)


HrOrAdmin = Annotated[StaffScope, Depends(hr_or_admin)]


def own_roster_upload(session: SessionDep, staff: HrOrAdmin, upload_id: str) -> RosterUpload:
    """A roster upload of the HR officer who made it (an admin may open any); anyone else's,
    and one more than a day old, is simply not found."""
    upload = roster_uploads.get(
        session=session, upload_id=upload_id, user_id=staff.user.id, admin=staff.scope.everything
    )
    if upload is None:
        raise HTTPException(404)
    return upload


OwnRosterUpload = Annotated[RosterUpload, Depends(own_roster_upload)]


# The OpenAPI security scheme "bearerAuth"; we answer missing or bad tokens ourselves (401
# problem+json with WWW-Authenticate), so FastAPI's own refusal is off.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    bearerFormat="bk_…",
    description="An API token made at /manage/api-tokens: `Authorization: Bearer bk_…`.",
)


@dataclass(frozen=True)
class ApiReader:
    """An API token's owner with their current HR scope, and the token's prefix (audit)."""

    user_id: int
    token_id: int
    prefix: str
    scope: Scope


def api_reader(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiReader:
    """The reader behind an `Authorization: Bearer` API token. Only the token counts: a
    browser's session cookie alone never opens the API reports (a page that an HR officer has
    open must not become a data source for scripts on other sites, and tokens are what HR
    systems audit and revoke). 401 for a missing, unknown, expired or revoked token; 403 when
    the owner no longer holds an HR grant with an agency, or admin."""
    if credentials is None:
        raise HTTPException(
            401,
            "Send an API token: Authorization: Bearer bk_…",
            headers={"WWW-Authenticate": 'Bearer realm="berakhlak"'},
        )
    token = tokens.authenticate(session=session, secret=credentials.credentials)
    if token is None:
        raise HTTPException(
            401,
            "The API token is unknown, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="berakhlak", error="invalid_token"'},
        )
    scope = grants.hr_scope(session=session, user_id=token.user_id)
    if scope.empty:
        raise HTTPException(403, "The token's owner no longer holds an HR or admin role.")
    return ApiReader(token.user_id, token.id, token.prefix, scope)  # type: ignore[arg-type]


Reader = Annotated[ApiReader, Depends(api_reader)]
