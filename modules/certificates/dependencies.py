"""Load the certificate a URL names for its holder, or answer 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from app.db import SessionDep
from modules.accounts.dependencies import CurrentUser
from modules.certificates import service
from modules.certificates.models import Certificate


def own_certificate(session: SessionDep, user: CurrentUser, code: str) -> Certificate:
    """The logged-in learner's own certificate; anyone else's is simply not found."""
    certificate = service.by_code(session=session, code=code)
    if certificate is None or certificate.user_id != user.id:
        raise HTTPException(404)
    return certificate


OwnCertificate = Annotated[Certificate, Depends(own_certificate)]
