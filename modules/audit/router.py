"""For admins: the audit trail, newest first, filtered by action and subject."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.auth import Principal, require_roles
from app.db import SessionDep
from app.templating import render
from modules.audit import service

router = APIRouter()
Admin = Annotated[Principal, Depends(require_roles("admin"))]
_ID = re.compile(r"^[0-9]{1,12}$")
PAGE = 100


@router.get("/admin/audit")
def audit_trail(
    request: Request,
    session: SessionDep,
    _admin: Admin,
    action: str = "",
    subject: str = "",
    before: str = "",
) -> Response:
    """Who did what to whose record, when and from where."""
    action = action.strip()[:60] if action.isprintable() else ""
    subject = subject.strip()[:80] if subject.isprintable() else ""
    before_id = int(before) if _ID.match(before) else None
    identity = request.app.state.identity
    rows = service.recent(
        session=session,
        action=action,
        subject=subject,
        before_id=before_id,
        limit=PAGE,
        names=lambda ids: identity.names(session, ids),
    )
    params = {k: v for k, v in {"action": action, "subject": subject}.items() if v}
    context = {
        "rows": rows,
        "action": action,
        "subject": subject,
        "params": params,
        "next_before": rows[-1][0].id if len(rows) == PAGE else None,
        "labels": service.ACTION_LABELS,
        "details": service.details,
    }
    return render(request, "audit/trail.html", context)
