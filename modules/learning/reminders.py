"""Due-date reminders: a learner whose assigned course is not completed is mailed a week before
its due date, a day before, and once when it is overdue, in their language, with a link that
turns the reminders off without logging in (and the RFC 8058 one-click header for mail
programs). Each reminder is recorded with its mail in one transaction, so it goes out once."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from app import clock, mail
from modules.accounts import service as accounts
from modules.progress import service as progress

log = logging.getLogger("berakhlak.learning")
REMINDER_JOB = "reminders.send"
PAGE = 200


def send_due(*, session: Session, settings: Any, catalogue: Any) -> int:
    """Mail every reminder due today, a page per transaction. Returns how many went out."""
    today = clock.today(settings.tz)
    sent, after = 0, (0, "")
    while True:
        due, next_page = progress.reminders_due(
            session=session,
            today=today,
            recipients=accounts.reminder_recipients(),
            after=after,
            limit=PAGE,
        )
        queued = 0
        for reminder in due:
            course = catalogue.get(reminder.course_id)
            if course is None or not progress.mark_reminded(session=session, reminder=reminder):
                continue
            user = accounts.get(session=session, user_id=reminder.user_id)
            try:
                accounts.queue_reminder(
                    session,
                    settings,
                    user=user,
                    template="reminder",
                    context={
                        "name": user.name,
                        "kind": reminder.kind,
                        "course": course.content.title,
                        "due_on": reminder.due_on,
                        "days_left": (reminder.due_on - today).days,
                        "link": f"{settings.base_url.rstrip('/')}/courses/{course.id}",
                    },
                    purpose="reminder",
                )
            except mail.MailRefused:
                log.exception("reminder for user %s refused", user.id)
                session.rollback()
                return sent  # what this page queued was rolled back with it
            queued += 1
        session.commit()
        sent += queued
        if next_page is None:
            return sent
        after = next_page
