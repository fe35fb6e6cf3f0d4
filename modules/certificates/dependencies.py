"""Load the certificate a URL names for its holder, or answer 404."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException

from app.db import SessionDep
from app.i18n import N_
from modules.accounts import grants
from modules.accounts.dependencies import CurrentUser, require_roles
from modules.accounts.grants import Scope
from modules.accounts.schemas import Principal
from modules.certificates import service
from modules.certificates.models import Certificate


def own_certificate(session: SessionDep, user: CurrentUser, code: str) -> Certificate:
    """The logged-in learner's own certificate; anyone else's is simply not found."""
    certificate = service.by_code(session=session, code=code)
    if certificate is None or certificate.user_id != user.id:
        raise HTTPException(404)
    if certificate.revoked_at is not None:
        # a revoked certificate is no longer handed out; its verification page says why
        raise HTTPException(
            410, N_("This certificate was revoked; its verification page says why.")
        )
    return certificate


OwnCertificate = Annotated[Certificate, Depends(own_certificate)]


@dataclass(frozen=True)
class ManagerScope:
    """HR or an admin, with whose certificates they may see."""

    user: Principal
    scope: Scope


def certificate_manager(
    session: SessionDep, user: Annotated[Principal, Depends(require_roles("hr", "admin"))]
) -> ManagerScope:
    """HR (limited to their agencies or units) or an admin; an HR grant without an agency is
    refused."""
    scope = grants.hr_scope(session=session, user_id=user.id)
    if scope.empty:
        raise HTTPException(403)
    return ManagerScope(user, scope)


Manager = Annotated[ManagerScope, Depends(certificate_manager)]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def managed_certificate(session: SessionDep, _admin: Admin, code: str) -> Certificate:
    """A certificate by code, for an admin; unknown codes are not found."""
    certificate = service.by_code(session=session, code=code)
    if certificate is None:
        raise HTTPException(404)
    return certificate


ManagedCertificate = Annotated[Certificate, Depends(managed_certificate)]
