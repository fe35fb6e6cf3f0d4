"""Email verification (BERAKHLAK_EMAIL_VERIFICATION=required): a new account learns at once,
its completion is recorded, and its certificate is issued once the address is confirmed by the
mailed link (read back from aiosmtpd, followed); an account from before verification is sent a
link when it logs in, at most once a day."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock, mail
from modules.accounts.models import User
from modules.audit.models import AuditEvent
from modules.certificates.models import Certificate
from modules.progress.models import CourseCompletion
from tests.app.test_mail import Inbox, _port, _smtp
from tests.conftest import PASSWORD, csrf_from, login, make_user, nip, register, run_jobs
from tests.modules.certificates.helpers import complete_in_browserless_client, make_app

LINK = re.compile(r"http://testserver(/verify-email/[A-Za-z0-9_-]+)")


def _app(db_url, tmp_path, port: int):
    return make_app(
        db_url,
        tmp_path,
        email_verification="required",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
    )


def test_a_certificate_waits_for_the_confirmed_address_then_is_issued(db_url, tmp_path) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, tmp_path, port)
    try:
        client = TestClient(app)
        assert register(client).status_code == 303
        complete_in_browserless_client(client)  # learning needs no confirmation
        with Session(app.state.engine) as session:
            user = session.exec(select(User)).one()
            assert user.email_verified_at is None
            assert session.exec(select(CourseCompletion)).one().user_id == user.id
            assert session.exec(select(Certificate)).all() == []
        page = client.get("/certificates").text
        assert "Menunggu verifikasi email" in page
        assert "belum dikonfirmasi" in client.get("/me/profile").text
        (message,) = inbox.received
        assert message["To"].addresses[0].addr_spec == "siti@bkn.go.id"
        (link,) = LINK.findall(message.get_body(preferencelist=("plain",)).get_content())
        scanner = TestClient(app)  # a mail scanner opening the link confirms nothing
        assert "siti@bkn.go.id" in scanner.get(link).text
        run_jobs(app)
        with Session(app.state.engine) as session:
            assert session.exec(select(User)).one().email_verified_at is None
        done = client.post(
            link, data={"csrf_token": csrf_from(client, link)}, follow_redirects=False
        )
        assert done.headers["location"] == "/me/profile?saved=verified"
        run_jobs(app)  # the workflow owes the certificate; the worker issues it
        with Session(app.state.engine) as session:
            (certificate,) = session.exec(select(Certificate)).all()
            assert certificate.holder_nip == nip()
            assert session.exec(
                select(AuditEvent).where(AuditEvent.action == "account.email_verified")
            ).one()
        assert "Menunggu verifikasi email" not in client.get("/certificates").text
        assert client.get(link).status_code == 410  # once
    finally:
        server.stop()
        app.state.engine.dispose()


def test_an_account_from_before_verification_gets_a_link_at_login_once_a_day(
    db_url, tmp_path
) -> None:
    app = make_app(db_url, tmp_path, email_verification="required")  # mail to the folder
    from app import security

    with Session(app.state.engine) as session:
        make_user(
            session,
            email_verified_at=None,
            password_hash=security.hash_password(PASSWORD),
        )
    manual = clock.ManualClock()
    with clock.use(manual):
        assert login(TestClient(app), nip(), PASSWORD).status_code == 303
        assert login(TestClient(app), nip(), PASSWORD).status_code == 303
        manual.advance(timedelta(hours=25))
        assert login(TestClient(app), "siti@bkn.go.id", PASSWORD).status_code == 303
    with Session(app.state.engine) as session:
        sent = session.exec(select(mail.MailMessage)).all()
        assert [m.purpose for m in sent] == ["verify", "verify"]
    app.state.engine.dispose()


def test_asking_for_the_link_again_is_limited(db_url, tmp_path) -> None:
    app = make_app(db_url, tmp_path, email_verification="required")
    client = TestClient(app)
    register(client)
    answers = []
    for _ in range(4):
        token = csrf_from(client, "/me/profile")
        answers.append(
            client.post(
                "/me/verify-email", data={"csrf_token": token}, follow_redirects=False
            ).headers["location"]
        )
    # the registration's mail and two more make three in the hour; then "later"
    assert answers == [
        "/me/profile?saved=verification-sent",
        "/me/profile?saved=verification-sent",
        "/me/profile?saved=verification-later",
        "/me/profile?saved=verification-later",
    ]
    with Session(app.state.engine) as session:
        assert len(session.exec(select(mail.MailMessage)).all()) == 3
    app.state.engine.dispose()


def test_the_embedded_default_mails_to_the_folder_and_the_cli_finds_the_link(
    db_url, tmp_path, monkeypatch
) -> None:
    """No SMTP server (the one-command start): register, find the mail with `berakhlak mail
    list` and `show`, follow its link."""
    from typer.testing import CliRunner

    from app.cli import cli
    from tests.conftest import cli_environment

    folder = tmp_path / "var-mail"
    app = make_app(db_url, tmp_path, email_verification="required", mail_dir=folder)
    client = TestClient(app)
    register(client)
    run_jobs(app)  # the worker writes the mail into the folder
    cli_environment(monkeypatch, tmp_path, db_url, mail_dir=str(folder))
    listed = CliRunner().invoke(cli, ["mail", "list"])
    assert "siti@bkn.go.id" in listed.output and "Konfirmasi alamat email" in listed.output
    shown = CliRunner().invoke(cli, ["mail", "show", "last"]).output
    (link,) = LINK.findall(shown)
    client.post(link, data={"csrf_token": csrf_from(client, link)})
    run_jobs(app)
    with Session(app.state.engine) as session:
        assert session.exec(select(User)).one().email_verified_at is not None
    app.state.engine.dispose()
