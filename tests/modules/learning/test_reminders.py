"""Due-date reminders, read back from a real SMTP server (aiosmtpd): a week before, a day
before and overdue, each once; nothing for a completed course, an unclaimed account or someone
who unsubscribed; RFC 8058 one-click unsubscribe without a login, the unsubscribe page, and the
profile switch."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock, jobs
from app.clock import ManualClock
from app.main import create_app
from app.security import hash_password
from modules.accounts.models import User
from modules.audit.models import AuditEvent
from modules.learning.reminders import REMINDER_JOB
from modules.progress.models import CourseCompletion, Enrollment
from tests.app.test_mail import Inbox, _port, _smtp
from tests.conftest import csrf_from, login, make_settings, make_user, run_jobs

COURSE = "berakhlak"
START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
DUE = date(2027, 3, 8)
PASSWORD = "kata-sandi-panjang-sekali-9"


def _app(db_url: str, port: int):
    return create_app(
        make_settings(
            db_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            smtp_timeout_seconds=5,
            base_url="http://testserver",
        )
    )


def _people(app) -> dict[str, int]:
    """Assigned the course, due on DUE: a learner, one who completed it, one who never claimed
    their roster account."""
    ids = {}
    with Session(app.state.engine) as session:
        for i, (key, hashed) in enumerate(
            (("learner", hash_password(PASSWORD)), ("done", "x"), ("unclaimed", "")), start=1
        ):
            user = make_user(
                session,
                nip_number=f"19900101201503100{i}",
                email=f"{key}@bkn.go.id",
                name=key.title(),
                password_hash=hashed,
            )
            ids[key] = user.id
            session.add(
                Enrollment(user_id=user.id, course_id=COURSE, assigned_at=START, due_on=DUE)
            )
        course = app.state.catalogue.get(COURSE)
        session.add(
            CourseCompletion(
                user_id=ids["done"],
                course_id=COURSE,
                content_version_id=course.version_id,
                jp=course.content.jp,
            )
        )
        session.commit()
    return ids


def _remind(app) -> None:
    """What the hourly schedule does."""
    with Session(app.state.engine) as session:
        jobs.enqueue(session, REMINDER_JOB)
        session.commit()
    run_jobs(app)


def test_a_week_a_day_and_overdue_each_once_with_one_click_unsubscribe(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    moment = ManualClock(START)
    try:
        with clock.use(moment):
            ids = _people(app)
            title = app.state.catalogue.get(COURSE).content.title
            _remind(app)
            (week,) = inbox.received
            assert week["To"].addresses[0].addr_spec == "learner@bkn.go.id"
            assert week["Subject"].strip() == f"Tenggat 7 hari lagi: {title}"
            body = week.get_body(preferencelist=("plain",)).get_content()
            assert "8 Maret 2027" in body and "http://testserver/courses/berakhlak" in body
            one_click = week["List-Unsubscribe"].strip()
            assert one_click.startswith("<http://testserver/api/unsubscribe/")
            assert week["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            _remind(app)
            assert len(inbox.received) == 1  # once

            moment.set(datetime(2027, 3, 6, 18, 0, tzinfo=UTC))  # 7 March, 01:00 in Jakarta
            _remind(app)
            assert inbox.received[-1]["Subject"].strip() == f"Tenggat besok: {title}"
            moment.set(datetime(2027, 3, 9, 2, 0, tzinfo=UTC))
            _remind(app)
            _remind(app)
            moment.set(datetime(2027, 3, 12, 2, 0, tzinfo=UTC))
            _remind(app)
            assert [m["Subject"].strip().split(":")[0] for m in inbox.received] == [
                "Tenggat 7 hari lagi",
                "Tenggat besok",
                "Lewat tenggat",
            ]

            # a mail program's one-click POST: no cookie, no CSRF token, the token decides
            machine = TestClient(app, base_url="http://testserver")
            path = one_click.strip("<>").removeprefix("http://testserver")
            assert (
                machine.post(path[:-2] + "00", data={"List-Unsubscribe": "One-Click"}).status_code
                == 404
            )
            done = machine.post(path, data={"List-Unsubscribe": "One-Click"})
            assert done.status_code == 204
            with Session(app.state.engine) as session:
                assert session.get(User, ids["learner"]).reminders is False
                assert session.exec(
                    select(AuditEvent).where(AuditEvent.action == "account.reminders")
                ).one()
                enrollment = session.get(Enrollment, (ids["learner"], COURSE))
                enrollment.due_on = date(2027, 3, 15)  # a new due date
                session.add(enrollment)
                session.commit()
            _remind(app)
            assert len(inbox.received) == 3  # unsubscribed: nothing more

            # back on from the profile
            learner = TestClient(app, base_url="http://testserver")
            assert login(learner, "199001012015031001", PASSWORD).status_code == 303
            token = csrf_from(learner, "/me/profile")
            saved = learner.post(
                "/me/reminders",
                data={"csrf_token": token, "reminders": "on"},
                follow_redirects=False,
            )
            assert saved.headers["location"] == "/me/profile?saved=reminders"
            assert 'name="reminders" value="on" checked' in learner.get("/me/profile").text
            _remind(app)
            assert inbox.received[-1]["Subject"].strip() == f"Tenggat 3 hari lagi: {title}"
            assert len(inbox.received) == 4
    finally:
        server.stop()
        app.state.engine.dispose()


def test_the_unsubscribe_page_asks_then_stops_the_reminders(app) -> None:
    with Session(app.state.engine) as session:
        user = make_user(session, name="Siti Rahmawati")
    from modules.accounts import service

    token = service.unsubscribe_token(secret=app.state.settings.secret_key, user_id=user.id)
    client = TestClient(app, base_url="http://testserver")
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Siti Rahmawati" in page.text
    with Session(app.state.engine) as session:
        assert session.get(User, user.id).reminders is True  # looking changes nothing
    done = client.post(
        f"/unsubscribe/{token}", data={"csrf_token": csrf_from(client, f"/unsubscribe/{token}")}
    )
    assert done.status_code == 200 and "tidak lagi mengirimi" in done.text
    with Session(app.state.engine) as session:
        assert session.get(User, user.id).reminders is False
    other = service.unsubscribe_token(secret="another-secret-" * 4, user_id=user.id)
    assert client.get(f"/unsubscribe/{other}").status_code == 404


def test_an_unsubscribe_token_that_is_not_ours_is_not_found(app) -> None:
    client = TestClient(app, base_url="http://testserver")
    for token in ("²." + "0" * 32, "1." + "g" * 32, "x", "1" * 13 + "." + "0" * 32):
        assert client.get(f"/unsubscribe/{token}").status_code == 404
        assert client.post(f"/api/unsubscribe/{token}").status_code == 404
