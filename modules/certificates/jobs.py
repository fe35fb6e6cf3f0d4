"""Background work of certificates: issuing the certificates completions owe (the outbox rows
the learning workflow writes with each completion)."""

from __future__ import annotations

from app.jobs import Handler, JobContext
from modules.certificates import service


def issue_owed(ctx: JobContext) -> None:
    """Issue one owed certificate in the job's transaction: committed with the job's "done",
    so it is issued exactly once; a failure rolls back its number too (no gaps) and the job is
    retried."""
    service.issue_owed(
        session=ctx.session,
        owed=service.Owed.from_payload(ctx.payload),
        catalogue=ctx.state.catalogue,
        policy=ctx.state.certificate_policy,
    )


HANDLERS = {service.ISSUE_JOB: Handler(issue_owed)}
