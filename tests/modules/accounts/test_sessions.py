"""A person sees where they are logged in and ends another login or all of them; logins do
not pile up; expired logins, old mailed links and mail, and audit events past their keeping
time are deleted by the worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import delete
from sqlmodel import Session, select

from app import jobs, mail
from app.clock import utcnow
from app.security import hash_password
from modules.accounts.models import AccountLink, AuthSession, NipDispute, User
from modules.audit.models import AuditEvent
from tests.conftest import csrf_from, login, make_settings, make_user, run_jobs

NIP, PASSWORD = "199001012015031001", "kata-sandi-panjang-sekali-9"
PHONE = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


def _person(app) -> int:
    with Session(app.state.engine) as session:
        return int(make_user(session, nip_number=NIP, password_hash=hash_password(PASSWORD)).id)


def _client(app, agent: str) -> TestClient:
    client = TestClient(app, base_url="http://testserver", headers={"User-Agent": agent})
    assert login(client, NIP, PASSWORD).status_code == 303
    return client


def test_a_person_sees_their_logins_and_ends_the_others(app) -> None:
    _person(app)
    phone, desktop, third = _client(app, PHONE), _client(app, DESKTOP), _client(app, DESKTOP)
    page = phone.get("/me/sessions").text
    assert "Chrome · Android" in page and "Chrome · Windows" in page
    main = page.split("<main", 1)[1].split("</main>", 1)[0]  # not the offline bar's words
    assert main.count("perangkat ini") == 1  # one login is this device
    with Session(app.state.engine) as session:
        desktop_id = session.exec(
            select(AuthSession.id).where(AuthSession.user_agent == DESKTOP)
        ).first()
    token = csrf_from(phone, "/me/sessions")
    ended = phone.post(
        "/me/sessions", data={"csrf_token": token, "session": desktop_id}, follow_redirects=False
    )
    assert ended.headers["location"] == "/me/sessions?ended=1"
    logged_out = [
        c.get("/me/learning", follow_redirects=False).status_code for c in (desktop, third)
    ]
    assert sorted(logged_out) == [200, 303]  # that one login only
    everyone = phone.post(
        "/me/sessions", data={"csrf_token": token, "session": "others"}, follow_redirects=False
    )
    assert everyone.headers["location"] == "/me/sessions?ended=1"
    assert third.get("/me/learning", follow_redirects=False).status_code == 303
    assert desktop.get("/me/learning", follow_redirects=False).status_code == 303
    assert phone.get("/me/learning", follow_redirects=False).status_code == 200  # this one stays
    with Session(app.state.engine) as session:
        assert (
            len(
                session.exec(
                    select(AuditEvent).where(AuditEvent.action == "account.sessions_end")
                ).all()
            )
            == 2
        )


def test_another_persons_login_cannot_be_ended(app) -> None:
    _person(app)
    with Session(app.state.engine) as session:
        make_user(
            session,
            nip_number="199001012015031002",
            email="b@bkn.go.id",
            password_hash=hash_password(PASSWORD),
        )
    other = TestClient(app, base_url="http://testserver")
    assert login(other, "199001012015031002", PASSWORD).status_code == 303
    with Session(app.state.engine) as session:
        (theirs,) = session.exec(select(AuthSession.id)).all()
    mine = _client(app, PHONE)
    token = csrf_from(mine, "/me/sessions")
    mine.post("/me/sessions", data={"csrf_token": token, "session": theirs})
    mine.post("/me/sessions", data={"csrf_token": token, "session": "others"})
    assert other.get("/me/learning", follow_redirects=False).status_code == 200


def test_logins_do_not_pile_up(app) -> None:
    user_id = _person(app)
    for _ in range(14):
        _client(app, PHONE)
    with Session(app.state.engine) as session:
        assert (
            len(session.exec(select(AuthSession).where(AuthSession.user_id == user_id)).all()) == 10
        )


def test_the_worker_deletes_what_has_served_its_purpose(app) -> None:
    user_id = _person(app)
    now = utcnow()
    with Session(app.state.engine) as session:
        user = session.get(User, user_id)
        session.add(AuthSession(id="e" * 64, user_id=user_id, expires_at=now - timedelta(days=1)))
        session.add(AuthSession(id="f" * 64, user_id=user_id, expires_at=now + timedelta(days=1)))
        session.add(
            AccountLink(
                token_hash="a" * 64,
                user_id=user_id,
                purpose="reset",
                sent_to=user.email,
                expires_at=now - timedelta(days=31),
            )
        )
        session.add(
            AccountLink(
                token_hash="b" * 64,
                user_id=user_id,
                purpose="reset",
                sent_to=user.email,
                expires_at=now - timedelta(days=2),
            )
        )
        session.add(
            NipDispute(
                nip=NIP,
                holder_id=user_id,
                claimant_name="X",
                claimant_email="x@y.id",
                statement="s",
                created_at=now - timedelta(days=31),
            )
        )
        for days, status in ((100, mail.SENT), (100, mail.QUEUED), (10, mail.FAILED)):
            row = mail.queue(
                session,
                app.state.settings,
                to="x@bkn.go.id",
                name="X",
                locale="id",
                template="test",
                context={"name": "X"},
                purpose="test",
            )
            row.created_at, row.status = now - timedelta(days=days), status
            session.add(row)
        for days in (2000, 400):
            session.add(
                AuditEvent(
                    at=now - timedelta(days=days),
                    action="user.view",
                    subject_type="user",
                    subject_id=NIP,
                )
            )
        session.commit()
    with Session(app.state.engine) as session:
        # the mail stays as written (no worker sends it here): only the clean-ups run
        session.execute(delete(jobs.Job).where(jobs.Job.kind == mail.SEND_JOB))
        for kind in ("accounts.retention", "mail.prune", "audit.prune"):
            jobs.enqueue(session, kind)
        session.commit()
    run_jobs(app)
    with Session(app.state.engine) as session:
        assert [s.id for s in session.exec(select(AuthSession))] == ["f" * 64]
        assert [link.token_hash for link in session.exec(select(AccountLink))] == ["b" * 64]
        assert session.exec(select(NipDispute)).all() == []
        kept = sorted(
            (m.status, (now - m.created_at.replace(tzinfo=now.tzinfo)).days)
            for m in session.exec(select(mail.MailMessage))
        )
        assert [status for status, _days in kept] == [mail.FAILED, mail.QUEUED]
        ages = [
            (now - e.at.replace(tzinfo=now.tzinfo)).days for e in session.exec(select(AuditEvent))
        ]
        assert ages == [400]


def test_the_audit_trail_is_kept_at_least_a_year(db_url) -> None:
    with pytest.raises(ValidationError):
        make_settings(db_url, audit_keep_days=100)
