"""Background work of the audit trail: its retention."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from app.clock import utcnow
from app.jobs import Handler, JobContext, Schedule
from modules.audit.models import AuditEvent, AuditScope


def prune(ctx: JobContext) -> None:
    """Delete audit events older than `BERAKHLAK_AUDIT_KEEP_DAYS` (at least 365)."""
    days = max(365, int(getattr(ctx.state.settings, "audit_keep_days", 1825)))
    old = select(AuditEvent.id).where(col(AuditEvent.at) < utcnow() - timedelta(days=days))
    ctx.session.execute(delete(AuditScope).where(col(AuditScope.event_id).in_(old)))
    ctx.session.execute(delete(AuditEvent).where(col(AuditEvent.id).in_(old)))


HANDLERS = {"audit.prune": Handler(prune)}
SCHEDULES = [Schedule("audit.prune", timedelta(days=1), "audit.prune")]
