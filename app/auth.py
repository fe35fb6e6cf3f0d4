"""Who is asking: the dependencies every route uses to admit or refuse a visitor.

The platform does not know how people are stored: the accounts module provides an
`IdentityProvider` and the composition root plugs it in (`app.state.identity`). So any module,
however low in the dependency order (agencies, audit), can require a login or a role without
importing accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from app.db import SessionDep
from app.errors import LoginRequired, NoticeRequired

# The one list of roles beyond learner; grants (modules/accounts/grants.py) give them scopes.
ROLES = ("trainer", "hr", "admin")


@dataclass(frozen=True)
class Principal:
    """The logged-in user as every request sees it: read once per request, never written."""

    id: int
    nip: str
    employment_type: str
    name: str
    email: str
    agency_id: int
    locale: str | None
    privacy_version: str | None = None  # the privacy notice the person acknowledged


class IdentityProvider(Protocol):
    """What the platform needs to know about people (implemented by modules/accounts)."""

    async def principal(self, request: Request) -> Principal | None:
        """The user behind the request's session cookie, or None."""
        ...

    def roles(self, session: Session, user_id: int) -> set[str]:
        """The roles granted to a user beyond learner."""
        ...

    def names(self, session: Session, user_ids: Iterable[int]) -> dict[int, str]:
        """Display names by user id (for trails that record who acted)."""
        ...


def identity(request: Request) -> IdentityProvider:
    return request.app.state.identity


async def _load_user(request: Request) -> Principal | None:
    if hasattr(request.state, "user"):
        return request.state.user
    user = await identity(request).principal(request)
    request.state.user = user  # templates show it as `user`
    return user


async def optional_user(request: Request) -> Principal | None:
    """The logged-in user or None."""
    return await _load_user(request)


# pages a person reaches before acknowledging a changed privacy notice
_BEFORE_NOTICE = ("/privacy", "/logout", "/lang", "/me/data", "/me/erase")


async def require_user(request: Request) -> Principal:
    """The logged-in user; anyone else is sent to the login page. A person who has not
    acknowledged the current privacy notice (it changed, or a roster or an administrator
    made their account) is shown it before any other page; what they send meanwhile (a
    quiz answer, a form) is still accepted."""
    user = await _load_user(request)
    if user is None:
        raise LoginRequired
    current = getattr(request.app.state, "privacy_version", None)
    if (
        current is not None
        and user.privacy_version != current
        and request.method == "GET"
        and not request.url.path.startswith(_BEFORE_NOTICE)
    ):
        raise NoticeRequired
    return user


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting only users granted one of `roles` (403 for other learners)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def dependency(
        request: Request,
        session: SessionDep,
        user: Annotated[Principal, Depends(require_user)],
    ) -> Principal:
        if not identity(request).roles(session, user.id) & set(roles):
            raise HTTPException(403)
        return user

    return dependency


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(require_user)]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
TrainerOrAdmin = Annotated[Principal, Depends(require_roles("trainer", "admin"))]
StaffUser = Annotated[Principal, Depends(require_roles("hr", "admin"))]
