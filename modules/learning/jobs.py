"""Background work of the learning workflow: handing in attempts whose time ran out, and
settling learners again after a content version changed what completes a course."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.jobs import Handler, JobContext, Schedule
from modules.accounts import service as accounts_service
from modules.certificates import service as certificates_service
from modules.courses import service as courses_service
from modules.learning import reminders, workflow
from modules.progress import service as progress_service
from modules.quizzes import service as quizzes_service

log = logging.getLogger("berakhlak.learning")
BATCH = 200


class SomeFailed(RuntimeError):
    """Part of the work failed (logged one by one); the job is retried for the rest."""


def expire_attempts(ctx: JobContext) -> None:
    """Hand in every attempt whose time ran out, on the answers saved, through the workflow
    (so a pass completes what it completes). Each attempt is its own transaction."""
    catalogue, failed = ctx.state.catalogue, set[str]()
    catalogue.refresh(force=True)
    while True:
        due = quizzes_service.overdue(session=ctx.session, limit=BATCH, skip=frozenset(failed))
        ctx.session.rollback()  # end the read: each hand-in is a transaction of its own
        for attempt_id in due:
            try:
                workflow.attempt_expired(
                    session=ctx.session, attempt_id=attempt_id, catalogue=catalogue
                )
            except Exception:  # noqa: BLE001 - one broken attempt must not stop the others
                ctx.session.rollback()
                log.exception("attempt %s could not be handed in", attempt_id)
                failed.add(attempt_id)
        if len(due) < BATCH or not ctx.heartbeat():
            break
    if failed:
        raise SomeFailed(f"{len(failed)} attempt(s) could not be handed in; see the log")


def content_published(ctx: JobContext) -> None:
    """A course's live version changed: settle again every enrolled learner who has not
    completed it (a lesson removed may have been all they lacked). Completions already earned
    are never taken back. Learner by learner, in pages."""
    course_id, version_id = ctx.payload["course_id"], int(ctx.payload["version_id"])
    catalogue = ctx.state.catalogue
    catalogue.refresh(force=True)
    course = catalogue.get(course_id)
    if course is None or course.version_id != version_id:
        return  # withdrawn, or replaced again: the newer version has its own job
    after, failed = 0, 0
    while True:
        learners = progress_service.learners_to_settle(
            session=ctx.session, course_id=course_id, after_user_id=after, limit=BATCH
        )
        ctx.session.rollback()
        for user_id in learners:
            try:
                workflow.settle(session=ctx.session, user_id=user_id, course=course)
            except Exception:  # noqa: BLE001 - one learner must not stop the others
                ctx.session.rollback()
                log.exception("learner %s of course %s could not be settled", user_id, course_id)
                failed += 1
        if len(learners) < BATCH or not ctx.heartbeat():
            break
        after = learners[-1]
    if failed:
        raise SomeFailed(f"{failed} learner(s) could not be settled; see the log")


def email_verified(ctx: JobContext) -> None:
    """A person confirmed their address: what their completions owe is owed now."""
    workflow.email_verified(session=ctx.session, user_id=int(ctx.payload["user_id"]))


def holder_changed(ctx: JobContext) -> None:
    """An account passed to the rightful holder of its NIP: its certificates are re-issued
    in their name."""
    workflow.holder_changed(
        session=ctx.session,
        user_id=int(ctx.payload["user_id"]),
        policy=certificates_service.policy_from(ctx.state.settings),
    )


def send_reminders(ctx: JobContext) -> None:
    """Mail the due-date reminders due today (hourly; each reminder goes out once)."""
    catalogue = ctx.state.catalogue
    catalogue.refresh(force=True)
    sent = reminders.send_due(session=ctx.session, settings=ctx.state.settings, catalogue=catalogue)
    if sent:
        log.info("%s due-date reminder(s) queued", sent)


HANDLERS = {
    "attempts.expire": Handler(expire_attempts, transactional=False),
    accounts_service.EMAIL_VERIFIED_JOB: Handler(email_verified, transactional=False),
    accounts_service.TRANSFERRED_JOB: Handler(holder_changed, transactional=False),
    reminders.REMINDER_JOB: Handler(send_reminders, transactional=False),
    courses_service.PUBLISHED_JOB: Handler(content_published, transactional=False),
}
SCHEDULES = [
    Schedule("attempts.expire", timedelta(minutes=1), "attempts.expire"),
    Schedule(reminders.REMINDER_JOB, timedelta(hours=1), reminders.REMINDER_JOB),
]
