"""Load the certificate a URL names for its holder, or answer 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from app.auth import CurrentUser, Principal, require_roles
from app.db import SessionDep
from app.i18n import N_
from modules.accounts.dependencies import HrOrAdmin, StaffScope
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


# HR (limited to their agencies or units) or an admin: one dependency for every staff page
ManagerScope = StaffScope
Manager = HrOrAdmin
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def managed_certificate(session: SessionDep, _admin: Admin, code: str) -> Certificate:
    """A certificate by code, for an admin; unknown codes are not found."""
    certificate = service.by_code(session=session, code=code)
    if certificate is None:
        raise HTTPException(404)
    return certificate


ManagedCertificate = Annotated[Certificate, Depends(managed_certificate)]
