"""Outgoing mail: written in its reader's language from templates (`templates/mail/`), queued
in the database in the caller's transaction (so a mail is owed exactly when what it reports
happened), and sent by the worker through SMTP, or, with no SMTP server configured (the
embedded default), into a folder that `berakhlak mail list|show` reads.

Sending is at least once: a mail is marked sent right after the server accepted it; a worker
killed between the two sends it again on retry, with the same `Message-ID`, by which a mail
system can tell the copies apart. A temporary failure (no connection, a 4xx answer) is retried
with the worker's backoff; a permanent refusal (a 5xx answer: no such mailbox) is recorded on
the mail and not retried; a mail whose attempts are spent is recorded as failed."""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Column, DateTime, Text, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel, col

from app import clock, i18n, jobs
from app.settings import ROOT

log = logging.getLogger("berakhlak.mail")

SEND_JOB = "mail.send"
QUEUED, SENT, FAILED = "queued", "sent", "failed"
SLOW = timedelta(minutes=15)  # the oldest mail waiting this long: the queue does not drain
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class MailMessage(SQLModel, table=True):
    """One mail, as composed; its state (queued, sent, failed) and attempts."""

    __tablename__ = "mail_message"
    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=40)  # what it is for: verification, reset, reminder…
    user_id: int | None = Field(default=None, index=True)
    to_address: str = Field(max_length=254)
    to_name: str = Field(max_length=200)
    locale: str = Field(max_length=5)
    subject: str = Field(max_length=300)
    text_body: str = Field(sa_column=Column(Text, nullable=False))
    html_body: str = Field(sa_column=Column(Text, nullable=False))
    headers: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    message_id: str = Field(max_length=250, unique=True)
    status: str = Field(default=QUEUED, max_length=12, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=clock.utcnow, sa_column=_ts())
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


_table: Any = MailMessage.__table__  # type: ignore[attr-defined]


class MailRefused(RuntimeError):
    """A mail that must not be sent (e.g. links to a loopback address in production)."""


def clean(value: str, limit: int = 200) -> str:
    """A header value from what a person typed: no line breaks or control characters (no
    header injection), spaces collapsed, at most `limit` characters."""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


_env: Environment | None = None


def _environment() -> Environment:
    global _env
    if _env is None:
        env = Environment(
            loader=FileSystemLoader(ROOT / "templates" / "mail"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
        env.globals.update(format_day=i18n.format_day, format_time=i18n.format_time)
        _env = env
    return _env


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str


def compose(template: str, locale: str, context: dict[str, Any]) -> Composed:
    """Render `templates/mail/<template>.{subject.txt,txt,html}` in `locale`."""
    env = _environment()
    with i18n.using_locale(locale):
        subject = env.get_template(f"{template}.subject.txt").render(context)
        text = env.get_template(f"{template}.txt").render(context)
        html = env.get_template(f"{template}.html").render(context)
    return Composed(clean(subject, 300), text.strip() + "\n", html)


def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "berakhlak.localhost"


def queue(
    session: Session,
    settings: Any,
    *,
    to: str,
    name: str,
    locale: str,
    template: str,
    context: dict[str, Any],
    purpose: str,
    user_id: int | None = None,
    headers: dict[str, str] | None = None,
) -> MailMessage:
    """Compose a mail and owe it, in the caller's transaction (the caller commits): the worker
    sends it once that transaction has committed."""
    host = (urlsplit(settings.base_url).hostname or "").lower()
    if settings.environment == "production" and host in _LOOPBACK | {"0.0.0.0"}:  # noqa: S104
        raise MailRefused(
            "BERAKHLAK_BASE_URL is a loopback address: links in mail would lead nowhere"
        )
    address = clean(to, 254)
    if "@" not in address:
        raise MailRefused(f"{address!r} is not a mail address")
    site = parseaddr(settings.mail_from)[0] or "BerAKHLAK"
    composed = compose(
        template, locale, {**context, "base_url": settings.base_url, "site": site, "locale": locale}
    )
    row = MailMessage(
        purpose=purpose,
        user_id=user_id,
        to_address=address,
        to_name=clean(name),
        locale=locale,
        subject=composed.subject,
        text_body=composed.text,
        html_body=composed.html,
        headers=json.dumps({k: clean(v, 900) for k, v in (headers or {}).items()}),
        message_id=make_msgid(domain=_domain(settings.mail_from)),
    )
    session.add(row)
    session.flush()
    jobs.enqueue(
        session,
        SEND_JOB,
        {"mail_id": row.id},
        key=f"mail/{row.id}",
        user_id=user_id,
        max_attempts=10,
    )
    return row


def build(row: MailMessage, settings: Any) -> EmailMessage:
    """The RFC 5322 message of a queued mail."""
    message = EmailMessage(policy=policy.SMTP)
    sender_name, sender = parseaddr(settings.mail_from)
    message["From"] = Address(display_name=sender_name, addr_spec=sender)
    local, _at, domain = row.to_address.rpartition("@")
    message["To"] = Address(display_name=row.to_name, username=local, domain=domain)
    if settings.mail_reply_to:
        name, address = parseaddr(settings.mail_reply_to)
        message["Reply-To"] = Address(display_name=name, addr_spec=address)
    message["Subject"] = row.subject
    message["Date"] = format_datetime(clock.as_utc(row.created_at))
    message["Message-ID"] = row.message_id
    message["Content-Language"] = row.locale
    message["Auto-Submitted"] = "auto-generated"
    for header, value in json.loads(row.headers).items():
        message[header] = value
    message.set_content(row.text_body)
    message.add_alternative(row.html_body, subtype="html")
    return message


def deliver(message: EmailMessage, settings: Any, name: str) -> None:
    """Hand the message to the SMTP server, or write it into the mail folder."""
    if not settings.smtp_host:
        folder = Path(settings.mail_dir)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.eml"
        partial.write_bytes(message.as_bytes())
        os.replace(partial, folder / f"{name}.eml")
        return
    context = ssl.create_default_context()
    timeout = settings.smtp_timeout_seconds
    server: smtplib.SMTP
    if settings.smtp_security == "tls":
        server = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
        )
    else:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with server:
        if settings.smtp_security == "starttls":
            server.starttls(context=context)
        if settings.smtp_user:
            server.login(settings.smtp_user, settings.smtp_password)
        server.send_message(message)


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _code(exc: Exception) -> str:
    """What an SMTP failure was, without the addresses its text names."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _message in exc.recipients.values()})
        return f"{type(exc).__name__} {codes}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return type(exc).__name__


def _record(engine: Any, mail_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(_table).where(_table.c.id == mail_id).values(**values))


def send(ctx: jobs.JobContext) -> None:
    """The worker's step: send one queued mail; record it sent, or refused for good."""
    settings = ctx.state.settings
    engine = ctx.state.engine
    row = ctx.session.get(MailMessage, ctx.payload["mail_id"])
    if row is None or row.status != QUEUED or row.id is None:
        return  # sent by an earlier attempt (its job's "done" was lost), or failed for good
    attempts = row.attempts + 1
    name = f"{clock.as_utc(row.created_at):%Y%m%dT%H%M%S}-{row.id:07d}"
    try:
        deliver(build(row, settings), settings, name)
    except (OSError, smtplib.SMTPException) as exc:
        problem = f"{type(exc).__name__}: {exc}"[:500]
        if _permanent(exc):
            _record(engine, row.id, status=FAILED, attempts=attempts, last_error=problem)
            # the mail's id and the answer's code, not its text (which names the address): logs
            # keep no personal data (docs/privacy.md); the whole answer is on the mail's row
            log.warning("mail %s refused for good: %s", row.id, _code(exc))
            return
        _record(engine, row.id, attempts=attempts, last_error=problem)
        raise
    _record(engine, row.id, status=SENT, attempts=attempts, sent_at=clock.utcnow(), last_error=None)


def _gave_up(session: Session, job: jobs.Job) -> None:
    mail_id = job.data().get("mail_id")
    session.execute(
        update(_table)
        .where(_table.c.id == mail_id, _table.c.status == QUEUED)
        .values(status=FAILED)
    )


def prune(ctx: jobs.JobContext) -> None:
    """Delete sent and failed mail older than `BERAKHLAK_MAIL_KEEP_DAYS` (addresses and texts
    are personal data); mail still waiting stays."""
    days = int(getattr(ctx.state.settings, "mail_keep_days", 90))
    ctx.session.connection().execute(
        _table.delete().where(
            _table.c.status != QUEUED,
            _table.c.created_at < clock.utcnow() - timedelta(days=days),
        )
    )


HANDLERS = {
    SEND_JOB: jobs.Handler(send, transactional=False, on_dead=_gave_up),
    "mail.prune": jobs.Handler(prune),
}
SCHEDULES = [jobs.Schedule("mail.prune", timedelta(days=1), "mail.prune")]


def health(conn: Connection) -> dict[str, Any]:
    """Mail waiting, how long the oldest has waited, mail failed in the last day, and whether
    the queue is slow to drain (the SMTP server refuses or does not answer)."""
    table = _table
    now = clock.utcnow()
    row = conn.execute(
        select(func.count(), func.min(table.c.created_at)).where(table.c.status == QUEUED)
    ).one()
    waiting: int = row[0]
    oldest: datetime | None = row[1]
    failed = conn.execute(
        select(func.count()).where(
            table.c.status == FAILED, table.c.created_at > now - timedelta(days=1)
        )
    ).scalar_one()
    wait = (now - clock.as_utc(oldest)).total_seconds() if oldest else 0.0
    return {
        "waiting": int(waiting),
        "oldest_wait_seconds": int(wait),
        "failed_last_day": int(failed),
        "slow": wait > SLOW.total_seconds(),
    }


def counts(conn: Connection) -> dict[str, int]:
    """Mail by state (for /metrics)."""
    table = _table
    found: dict[str, int] = dict(
        conn.execute(select(table.c.status, func.count()).group_by(table.c.status)).all()
    )
    return {status: int(found.get(status, 0)) for status in (QUEUED, SENT, FAILED)}


def folder_messages(folder: Path) -> list[tuple[str, EmailMessage]]:
    """The mail written to the folder, oldest first, by name (for `berakhlak mail`)."""
    found = []
    for path in sorted(folder.glob("*.eml")):
        with path.open("rb") as data:
            parsed = BytesParser(policy=policy.default).parse(data)
        found.append((path.stem, parsed))
    return found


# ---- bounces: delivery status notifications (RFC 3464) piped in by the mail system -----------


@dataclass(frozen=True)
class Bounce:
    message_id: str
    recipient: str
    status: str  # the enhanced status code, e.g. 5.1.1
    diagnostic: str
    recorded: bool  # whether it named a mail of ours, now marked failed


def _original_id(report: Any) -> str:
    """The Message-ID of the mail a report returns (its whole text, or its headers only)."""
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner: Any = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            return str(inner.get("Message-ID", "")).strip()
        if kind == "text/rfc822-headers":
            data: Any = part.get_payload(decode=True) or b""
            headers = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
            return str(headers.get("Message-ID", "")).strip()
    return ""


def bounces(raw: bytes) -> list[Bounce]:
    """The failed recipients a delivery status notification reports (RFC 3464): only
    `Action: failed` counts (a delay is not a bounce)."""
    report = BytesParser(policy=policy.default).parsebytes(raw)
    message_id = _original_id(report)
    found = []
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks: Any = part.get_payload()
        for block in blocks[1:] if isinstance(blocks, list) else []:
            if str(block.get("Action", "")).strip().lower() != "failed":
                continue
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            recipient = recipient.partition(";")[2].strip().lower() or recipient.strip().lower()
            found.append(
                Bounce(
                    message_id=message_id,
                    recipient=recipient,
                    status=clean(str(block.get("Status", "")), 20),
                    diagnostic=clean(str(block.get("Diagnostic-Code", "")), 300),
                    recorded=False,
                )
            )
    return found


def record_bounces(engine: Any, raw: bytes) -> list[Bounce]:
    """Mark the mail a delivery status notification names as failed, with the reason (the
    mail of people HR manages then shows as undelivered on HR's page)."""
    recorded = []
    for bounce in bounces(raw):
        if not bounce.message_id:
            recorded.append(bounce)
            continue
        problem = f"bounced {bounce.status}: {bounce.diagnostic}".strip()[:500]
        with engine.begin() as conn:
            changed = conn.execute(
                update(_table)
                .where(
                    _table.c.message_id == bounce.message_id,
                    func.lower(_table.c.to_address) == bounce.recipient,
                )
                .values(status=FAILED, last_error=problem)
            ).rowcount
        recorded.append(
            Bounce(
                bounce.message_id, bounce.recipient, bounce.status, bounce.diagnostic, bool(changed)
            )
        )
        if changed:
            log.warning("mail %s bounced: %s", bounce.message_id, bounce.status)
    return recorded


_LINK = re.compile(r"https?://\S+/(?:reset-password|verify-email|confirm-email|claim)/\S+")


def export_for(*, session: Session, user_id: int, since: Any = None) -> dict[str, Any]:
    """The mail sent to a person (kept `BERAKHLAK_MAIL_KEEP_DAYS`), for their data download;
    `since`: only from then (an account passed to the rightful holder of its NIP)."""
    rows = session.execute(
        select(
            _table.c.created_at,
            _table.c.sent_at,
            _table.c.purpose,
            _table.c.to_address,
            _table.c.subject,
            _table.c.status,
            _table.c.text_body,
        )
        .where(
            _table.c.user_id == user_id,
            *([_table.c.created_at >= since] if since is not None else []),
        )
        .order_by(_table.c.id)
    )
    return {
        "mail": [
            {
                "created_at": clock.as_utc(r.created_at).isoformat(),
                "sent_at": clock.as_utc(r.sent_at).isoformat() if r.sent_at else None,
                "purpose": r.purpose,
                "to": r.to_address,
                "subject": r.subject,
                "status": r.status,
                # links in mail are secrets that may still work: shown as sent, minus them
                "text": re.sub(
                    r"https?://\S+/(reset-password|verify-email|confirm-email|claim)/\S+",
                    "[link]",
                    r.text_body,
                ),
            }
            for r in rows
        ]
    }


def erase_for(*, session: Session, user_id: int) -> None:
    """An erasure's part of mail: every mail kept for the person deleted."""
    session.execute(delete(MailMessage).where(col(MailMessage.user_id) == user_id))


PERSONAL_TABLES = ("mail_message",)
