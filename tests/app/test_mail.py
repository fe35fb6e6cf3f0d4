"""Outgoing mail against a real SMTP server (aiosmtpd, started by the test): read back as
received, retried with backoff while the server is away and delivered exactly once when it is
back (also after a connection dropped in the middle of sending), a permanent refusal recorded
and not retried; with no SMTP server, mail goes to a folder that `berakhlak mail` reads."""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import clock, mail
from app.cli import cli
from app.jobs import Job
from app.main import create_app
from tests.conftest import cli_environment, make_settings, run_jobs


class Inbox:
    """An aiosmtpd handler keeping what it accepted; it can refuse recipients, or drop the
    connection in the middle of the first message's data."""

    def __init__(self, *, refuse: bool = False, drop_first: bool = False) -> None:
        self.received: list[EmailMessage] = []
        self.refuse, self.drop_first = refuse, drop_first

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.drop_first:
            self.drop_first = False
            server.transport.abort()  # gone before the end-of-data answer: not delivered
            return "451 never sent"
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _smtp(inbox: Inbox, port: int) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def _app(db_url: str, port: int, **overrides: object):
    return create_app(
        make_settings(
            db_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            smtp_timeout_seconds=5,
            **overrides,
        )
    )


def _queue(app, **fields: object) -> int:
    values: dict[str, object] = {
        "to": "budi@instansi.go.id",
        "name": "Budi Santoso",
        "locale": "id",
        "template": "test",
        "context": {"name": "Budi Santoso"},
        "purpose": "test",
    }
    values.update(fields)
    with Session(app.state.engine) as session:
        row = mail.queue(session, app.state.settings, **values)  # type: ignore[arg-type]
        session.commit()
        return int(row.id)  # type: ignore[arg-type]


def _row(app, mail_id: int) -> mail.MailMessage:
    with Session(app.state.engine) as session:
        found = session.get(mail.MailMessage, mail_id)
        assert found is not None
        return found


def test_a_mail_as_received_in_the_readers_language(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port, mail_from="Pusat Pelatihan <pelatihan@bkn.go.id>")
    try:
        evil = "Budi\r\nBcc: semua@contoh.id"
        first = _queue(app, name=evil, context={"name": evil})
        second = _queue(app, locale="en", to="ana@instansi.go.id")
        run_jobs(app)
    finally:
        server.stop()
    assert len(inbox.received) == 2
    got = {m["To"].addresses[0].addr_spec: m for m in inbox.received}
    indonesian, english = got["budi@instansi.go.id"], got["ana@instansi.go.id"]
    assert indonesian["Bcc"] is None and "\n" not in str(indonesian["To"])
    assert indonesian["To"].addresses[0].display_name == "Budi Bcc: semua@contoh.id"
    assert indonesian["Message-ID"] == _row(app, first).message_id.strip()
    assert indonesian["Message-ID"].endswith("@bkn.go.id>") and indonesian["Date"]
    assert indonesian["From"].addresses[0].display_name == "Pusat Pelatihan"
    assert indonesian["Subject"] == "Surat uji dari Pusat Pelatihan"
    assert english["Subject"] == "Test mail from Pusat Pelatihan"
    assert indonesian.get_content_type() == "multipart/alternative"
    text = indonesian.get_body(preferencelist=("plain",)).get_content()
    html = indonesian.get_body(preferencelist=("html",)).get_content()
    assert text.startswith("Halo Budi") and "<p>" not in text and "<p>Halo Budi" in html
    assert _row(app, first).status == mail.SENT and _row(app, second).status == mail.SENT
    app.state.engine.dispose()


def test_a_server_away_means_retries_then_exactly_one_delivery(db_url) -> None:
    inbox, port = Inbox(), _port()
    app = _app(db_url, port)
    manual = clock.ManualClock()
    with clock.use(manual):
        mail_id = _queue(app)
        run_jobs(app)  # nobody listens on the port
        row = _row(app, mail_id)
        assert row.status == mail.QUEUED and row.attempts == 1 and row.last_error
        with Session(app.state.engine) as session:
            job = session.exec(select(Job).where(Job.kind == mail.SEND_JOB)).one()
            assert job.attempts == 1 and clock.as_utc(job.run_at) > manual.now()
        server = _smtp(inbox, port)
        try:
            run_jobs(app)
            assert inbox.received == []  # not yet: the backoff has not passed
            manual.advance(timedelta(minutes=10))
            run_jobs(app)
            manual.advance(timedelta(hours=2))
            run_jobs(app)
        finally:
            server.stop()
    assert len(inbox.received) == 1
    row = _row(app, mail_id)
    assert row.status == mail.SENT and row.attempts == 2 and row.last_error is None
    app.state.engine.dispose()


def test_a_connection_dropped_while_sending_is_retried_and_delivered_once(db_url) -> None:
    inbox, port = Inbox(drop_first=True), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    manual = clock.ManualClock()
    try:
        with clock.use(manual):
            mail_id = _queue(app)
            run_jobs(app)
            assert inbox.received == [] and _row(app, mail_id).attempts == 1
            manual.advance(timedelta(minutes=10))
            run_jobs(app)
            manual.advance(timedelta(hours=2))
            run_jobs(app)
    finally:
        server.stop()
    assert len(inbox.received) == 1 and _row(app, mail_id).status == mail.SENT
    app.state.engine.dispose()


def test_a_permanent_refusal_is_recorded_and_not_retried(db_url) -> None:
    inbox, port = Inbox(refuse=True), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    try:
        mail_id = _queue(app)
        run_jobs(app)
    finally:
        server.stop()
    row = _row(app, mail_id)
    assert row.status == mail.FAILED and "550" in (row.last_error or "")
    with Session(app.state.engine) as session:
        job = session.exec(select(Job).where(Job.kind == mail.SEND_JOB)).one()
        assert job.status == "done" and job.attempts == 1
    app.state.engine.dispose()


def test_without_smtp_mail_goes_to_the_folder_and_the_cli_reads_it(
    db_url, tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "mail"
    cli_environment(monkeypatch, tmp_path, db_url, mail_dir=str(folder))
    runner = CliRunner()
    queued = runner.invoke(cli, ["mail", "test", "--to", "siti@instansi.go.id", "--name", "Siti"])
    assert queued.exit_code == 0, queued.output
    app = create_app(make_settings(db_url, mail_dir=folder))
    run_jobs(app)
    listed = runner.invoke(cli, ["mail", "list"])
    assert "siti@instansi.go.id" in listed.output and "Surat uji" in listed.output
    shown = runner.invoke(cli, ["mail", "show", "last"])
    assert shown.exit_code == 0 and "Halo Siti," in shown.output and "Message-ID:" in shown.output
    missing = runner.invoke(cli, ["--lang", "en", "mail", "show", "nothing-here"])
    assert missing.exit_code == 2 and "no mail nothing-here" in missing.output
    app.state.engine.dispose()


def test_production_refuses_mail_with_links_to_a_loopback_address(db_url) -> None:
    app = create_app(
        make_settings(db_url, environment="production", base_url="http://127.0.0.1:8000")
    )
    with pytest.raises(mail.MailRefused, match="BASE_URL"):
        _queue(app)
    app.state.engine.dispose()


def test_a_mail_queue_that_does_not_drain_makes_readiness_degraded(db_url) -> None:
    port = _port()  # nobody listens
    app = _app(db_url, port)
    with clock.use(clock.ManualClock(clock.utcnow() - timedelta(minutes=30))):
        _queue(app)
    from fastapi.testclient import TestClient

    body = TestClient(app, client=("127.0.0.1", 5000)).get("/readyz").json()
    assert body["status"] == "degraded" and body["mail"]["slow"] is True
    assert body["mail"]["waiting"] == 1 and body["mail"]["oldest_wait_seconds"] >= 1800
    metrics = TestClient(app, client=("127.0.0.1", 5000)).get("/metrics").text
    assert 'berakhlak_mail{status="queued"} 1.0' in metrics
    app.state.engine.dispose()


def _dsn(message_id: str, recipient: str, action: str = "failed") -> bytes:
    """A delivery status notification as Postfix writes one (RFC 3464)."""
    return (
        "From: MAILER-DAEMON@mx.bkn.go.id (Mail Delivery System)\r\n"
        "To: noreply@berakhlak.localhost\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--B\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.bkn.go.id\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <x>: Recipient address rejected: User unknown\r\n"
        "--B\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\n"
        "Subject: Undangan\r\n"
        "--B--\r\n"
    ).encode()


def test_a_bounce_piped_in_marks_the_mail_failed(db_url, tmp_path, monkeypatch) -> None:
    cli_environment(monkeypatch, tmp_path, db_url)
    app = create_app(make_settings(db_url, mail_dir=tmp_path / "mail"))
    mail_id = _queue(app, to="hilang@bkn.go.id")
    run_jobs(app)
    sent = _row(app, mail_id)
    assert sent.status == mail.SENT
    runner = CliRunner()
    delayed = runner.invoke(
        cli,
        ["--lang", "en", "mail", "bounce"],
        input=_dsn(sent.message_id, "hilang@bkn.go.id", "delayed"),
    )
    assert delayed.exit_code == 0 and "no failed delivery" in delayed.output
    assert _row(app, mail_id).status == mail.SENT  # a delay is no bounce
    stranger = runner.invoke(
        cli, ["--lang", "en", "mail", "bounce"], input=_dsn("<x@elsewhere>", "a@b.go.id")
    )
    assert stranger.exit_code == 0 and "(no mail of ours)" in stranger.output
    report = tmp_path / "bounce.eml"
    report.write_bytes(_dsn(sent.message_id, "Hilang@BKN.go.id"))
    done = runner.invoke(cli, ["--lang", "en", "mail", "bounce", str(report)])
    assert done.exit_code == 0 and "hilang@bkn.go.id: 5.1.1" in done.output, done.output
    bounced = _row(app, mail_id)
    assert bounced.status == mail.FAILED
    assert bounced.last_error.startswith("bounced 5.1.1: smtp; 550 5.1.1")
    app.state.engine.dispose()
