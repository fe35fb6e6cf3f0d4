"""A forgotten password reset by a mailed link: read back from a real SMTP server (aiosmtpd),
followed, used once; expired after 30 minutes; the same answer whether an account exists or
not; limited per account and per address."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock, mail
from app.main import create_app
from modules.audit.models import AuditEvent
from tests.app.test_mail import Inbox, _port, _smtp
from tests.conftest import PASSWORD, csrf_from, login, make_settings, nip, register, run_jobs

LINK = re.compile(r"http://testserver(/reset-password/[A-Za-z0-9_-]+)")
NEW = "lemari-tumpeng-sepeda-kabut"


def _app(db_url: str, port: int):
    return create_app(
        make_settings(
            db_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            base_url="http://testserver",
        )
    )


def _ask(client: TestClient, identifier: str):
    token = csrf_from(client, "/forgot-password")
    return client.post("/forgot-password", data={"csrf_token": token, "identifier": identifier})


def _links(inbox: Inbox) -> list[str]:
    found = []
    for message in inbox.received:
        found += LINK.findall(message.get_body(preferencelist=("plain",)).get_content())
    return found


def test_a_forgotten_password_is_reset_through_the_mailed_link_once(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    try:
        learner = TestClient(app)
        assert register(learner).status_code == 303
        stranger = TestClient(app)
        asked = _ask(stranger, nip())
        assert asked.status_code == 200 and "Jika ada akun" in asked.text
        run_jobs(app)
        assert len(inbox.received) == 1
        message = inbox.received[0]
        assert message["To"].addresses[0].addr_spec == "siti@bkn.go.id"
        assert message["Subject"].startswith("Atur kata sandi baru")
        (link,) = _links(inbox)
        assert stranger.get(link).status_code == 200  # looking does not use it
        token = csrf_from(stranger, link)
        weak = stranger.post(
            link, data={"csrf_token": token, "password": "qwertyuiop123", "password_confirm": "x"}
        )
        assert weak.status_code == 422 and "mudah ditebak" in weak.text
        done = stranger.post(
            link,
            data={"csrf_token": token, "password": NEW, "password_confirm": NEW},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
        assert "kata sandi baru sudah tersimpan" in stranger.get("/login?reset=1").text.lower()
        # every session ended; the old password no longer works, the new one does
        assert learner.get("/me/profile", follow_redirects=False).status_code == 303
        assert login(TestClient(app), nip(), PASSWORD).status_code == 422
        assert login(TestClient(app), "siti@bkn.go.id", NEW).status_code == 303
        # used once
        assert stranger.get(link).status_code == 410
        again = stranger.post(
            link, data={"csrf_token": token, "password": NEW + "x", "password_confirm": NEW + "x"}
        )
        assert again.status_code == 410
        with Session(app.state.engine) as session:
            audit = session.exec(
                select(AuditEvent).where(AuditEvent.action == "account.password_reset")
            ).all()
            assert len(audit) == 1 and audit[0].subject_id == nip()
    finally:
        server.stop()
        app.state.engine.dispose()


def test_the_answer_is_the_same_for_unknown_people_and_asking_is_limited(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    try:
        register(TestClient(app))
        visitor = TestClient(app)
        known = _ask(visitor, "siti@bkn.go.id")
        unknown = _ask(visitor, "orang.lain@bkn.go.id")
        unknown_nip = _ask(visitor, nip(serial="999"))
        pages = [
            re.sub(r"[0-9a-f]{128}", "", r.text)  # the CSRF tokens apart
            for r in (known, unknown, unknown_nip)
        ]
        assert {r.status_code for r in (known, unknown, unknown_nip)} == {200}
        assert pages[0] == pages[1] == pages[2]
        for _ in range(5):  # three mails an hour for one account, whichever identifier
            _ask(visitor, nip() if _ % 2 else "siti@bkn.go.id")
        run_jobs(app)
        assert len(inbox.received) == 3
        # only the newest link works
        links = _links(inbox)
        assert visitor.get(links[-1]).status_code == 200
        assert [visitor.get(link).status_code for link in links[:-1]] == [410, 410]
        with Session(app.state.engine) as session:
            sent = session.exec(select(mail.MailMessage)).all()
            assert {m.purpose for m in sent} == {"reset"} and len(sent) == 3
    finally:
        server.stop()
        app.state.engine.dispose()


def test_a_link_expires_after_thirty_minutes(db_url) -> None:
    port = _port()
    app = create_app(make_settings(db_url, base_url="http://testserver"))  # mail to the folder
    manual = clock.ManualClock()
    with clock.use(manual):
        register(TestClient(app))
        visitor = TestClient(app)
        _ask(visitor, nip())
        with Session(app.state.engine) as session:
            text = session.exec(select(mail.MailMessage)).one().text_body
        (link,) = LINK.findall(text)
        manual.advance(timedelta(minutes=29))
        assert visitor.get(link).status_code == 200
        manual.advance(timedelta(minutes=2))
        assert visitor.get(link).status_code == 410
    assert port  # (no SMTP server in this one)
    app.state.engine.dispose()


CONFIRM = re.compile(r"http://testserver(/confirm-email/[A-Za-z0-9_-]+)")


def test_a_new_email_is_confirmed_from_the_new_address_and_the_old_one_is_told(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    try:
        client = TestClient(app)
        register(client)
        form = {
            "csrf_token": csrf_from(client, "/me/profile"),
            "name": "Siti Rahmawati",
            "email": "siti.baru@bkn.go.id",
            "agency": "Badan Kepegawaian Negara",
            "work_unit": "Biro SDM",
            "position": "Analis",
            "grade": "III/a",
        }
        saved = client.post("/me/profile", data=form, follow_redirects=False)
        assert saved.headers["location"] == "/me/profile?saved=email-pending"
        page = client.get("/me/profile").text
        assert "siti@bkn.go.id" in page and "Biro SDM" in page  # the rest saved, not the email
        run_jobs(app)
        by_address = {m["To"].addresses[0].addr_spec: m for m in inbox.received}
        assert set(by_address) == {"siti.baru@bkn.go.id", "siti@bkn.go.id"}
        notice = by_address["siti@bkn.go.id"].get_body(preferencelist=("plain",)).get_content()
        assert "siti.baru@bkn.go.id" in notice and "/confirm-email/" not in notice
        confirm = by_address["siti.baru@bkn.go.id"].get_body(preferencelist=("plain",))
        (link,) = CONFIRM.findall(confirm.get_content())
        visitor = TestClient(app)  # a mail scanner opening the link changes nothing
        assert "siti.baru@bkn.go.id" in visitor.get(link).text
        assert "siti@bkn.go.id" in client.get("/me/profile").text
        done = client.post(
            link, data={"csrf_token": csrf_from(client, link)}, follow_redirects=False
        )
        assert done.headers["location"] == "/me/profile?saved=email"
        assert "siti.baru@bkn.go.id" in client.get("/me/profile").text
        assert client.get(link).status_code == 410  # once
        assert login(TestClient(app), "siti.baru@bkn.go.id").status_code == 303
        assert login(TestClient(app), "siti@bkn.go.id").status_code == 422
        with Session(app.state.engine) as session:
            change = session.exec(
                select(AuditEvent).where(AuditEvent.action == "account.email_change")
            ).one()
            assert change.subject_id == nip()
    finally:
        server.stop()
        app.state.engine.dispose()
