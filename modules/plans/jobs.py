"""The worker's part of action plans: once a day's worth of plans reach their report date
(`BERAKHLAK_PLAN_REPORT_DAYS` after writing) or their follow-up date (`BERAKHLAK_FOLLOW_UP_DAYS`,
for courses with a follow-up self-assessment), the learner is mailed once, in their language,
with the link that stops reminders. Each reminder is claimed with its mail in one transaction."""

from __future__ import annotations

import logging
from datetime import timedelta

from app import clock, mail
from app.jobs import Handler, JobContext, Schedule
from modules.accounts import service as accounts
from modules.plans import service

log = logging.getLogger("berakhlak.plans")


def send_reminders(ctx: JobContext) -> None:
    """Mail the plan reminders that are due (hourly)."""
    settings, session, catalogue = ctx.state.settings, ctx.session, ctx.state.catalogue
    catalogue.refresh(force=True)
    follow_up = {
        c.id: c.content.quizzes_of_kind("follow_up")[0]
        for c in catalogue.courses()
        if c.content.quizzes_of_kind("follow_up")
    }
    base = settings.base_url.rstrip("/")
    sent = 0
    while True:
        due = service.reminders_due(
            session=session,
            now=clock.utcnow(),
            report_days=settings.plan_report_days,
            follow_up_days=settings.follow_up_days,
            recipients=accounts.reminder_recipients(),
            follow_up_courses=sorted(follow_up),
        )
        if not due:
            break
        for reminder in due:
            course = catalogue.get(reminder.course_id)
            if not service.mark_reminded(session=session, due=reminder):
                continue
            if course is None:
                continue  # withdrawn: claimed, so it is not looked at again
            user = accounts.get(session=session, user_id=reminder.user_id)
            view = service.get(session=session, user_id=reminder.user_id, course_id=course.id)
            link = (
                f"{base}/courses/{course.id}/quizzes/{follow_up[course.id].id}"
                if reminder.kind == "follow_up"
                else f"{base}/courses/{course.id}/plan/report"
            )
            try:
                accounts.queue_reminder(
                    session,
                    settings,
                    user=user,
                    template="plan_due",
                    context={
                        "name": user.name,
                        "kind": reminder.kind,
                        "course": course.content.title,
                        "written_on": view.plan.written_at if view else None,
                        "link": link,
                    },
                    purpose="plan_reminder",
                )
            except mail.MailRefused:
                log.exception("plan reminder for user %s refused", user.id)
                session.rollback()
                return
            sent += 1
        session.commit()
        if not ctx.heartbeat():
            break
    if sent:
        log.info("%s plan reminder(s) queued", sent)


HANDLERS = {service.REPORT_JOB: Handler(send_reminders, transactional=False)}
SCHEDULES = [Schedule(service.REPORT_JOB, timedelta(hours=1), service.REPORT_JOB)]
