"""For admins: the background jobs that failed (dead letters, and jobs waiting for a retry),
with their error, and a way to try one again."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import jobs
from app.auth import Admin
from app.db import SessionDep, write_lock
from app.forms import MAX_ROW_ID, RowId, client_address
from app.templating import render
from modules.audit import service as audit

router = APIRouter()


@router.get("/admin/jobs")
def job_list(request: Request, session: SessionDep, _admin: Admin, kind: str = "") -> Response:
    """How many jobs are in each state, and the ones that failed (of one kind, if asked)."""
    kinds = jobs.troubled_kinds(session.connection())
    kind = kind if kind in {k for k, _n in kinds} else ""
    context = {
        "counts": jobs.counts(session.connection()),
        "kinds": kinds,
        "kind": kind,
        "rows": jobs.troubled(session, kind=kind),
        "label": jobs.status_label,
    }
    return render(request, "operations/jobs.html", context)


@router.post("/admin/jobs/{job_id}/retry")
def job_retry(request: Request, session: SessionDep, admin: Admin, job_id: RowId) -> Response:
    """Give a failed job a fresh set of attempts, now (recorded in the audit trail)."""
    if not 0 < job_id <= MAX_ROW_ID:
        raise HTTPException(404)
    with write_lock(request.app.state.engine):
        if not jobs.retry(session, job_id):
            raise HTTPException(404)
        audit.record(
            session=session,
            actor_id=admin.id,
            action="job.retry",
            subject_type="job",
            subject_id=job_id,
            address=client_address(request),
        )
        session.commit()
    return RedirectResponse("/admin/jobs", status_code=303)
