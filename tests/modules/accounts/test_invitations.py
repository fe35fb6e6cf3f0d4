"""Invitations: an account a roster made is claimed only through the link mailed to the
roster's address. HR sends them (for everyone in view, chosen people or a roster file), sees who
has claimed and whose mail failed; the mails are read back from a real SMTP server (aiosmtpd)
and their links followed."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock, mail
from app.clock import ManualClock
from app.main import create_app
from app.security import hash_password
from modules.accounts import grants
from modules.accounts.models import AccountLink, RosterEntry, User
from modules.audit.models import AuditEvent
from tests.app.test_mail import Inbox, _port, _smtp
from tests.conftest import csrf_from, login, make_settings, make_user, register, run_jobs
from tests.modules.accounts.test_roster import BUDI, SITI, agency, csv_bytes, row

PASSWORD = "kata-sandi-panjang-sekali-9"
HR_NIP, LAN_NIP = "198001012005011001", "198001012005011002"
ANI = row(SITI, nip="199202022016032002", nama="Ani Tanpa Surel", email="")
LINK = re.compile(r"http://testserver(/claim/[A-Za-z0-9_-]+)")


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


def _staff(app, nip: str, code: str = "LB-BKN", role: str = "hr") -> TestClient:
    with Session(app.state.engine) as session:
        user = make_user(
            session,
            nip_number=nip,
            email=f"{nip}@instansi.go.id",
            password_hash=hash_password(PASSWORD),
            agency_id=agency(session, code),
        )
        scope = agency(session, code) if role == "hr" else None
        grants.grant(session=session, user=user, role=role, agency_id=scope)
    client = TestClient(app, base_url="http://testserver")
    assert login(client, nip, PASSWORD).status_code == 303
    return client


def _import(client: TestClient, *rows: tuple[str, ...]) -> str:
    token = csrf_from(client, "/manage/roster")
    sent = client.post(
        "/manage/roster",
        data={"csrf_token": token},
        files={"file": ("pegawai.csv", csv_bytes(*rows), "text/csv")},
        follow_redirects=False,
    )
    page = sent.headers["location"]
    applied = client.post(
        f"{page}/apply", data={"csrf_token": csrf_from(client, page)}, follow_redirects=False
    )
    assert applied.status_code == 303
    return page


def _post(client: TestClient, url: str, **data: object):
    return client.post(
        url,
        data={"csrf_token": csrf_from(client, "/manage/invitations"), **data},
        follow_redirects=False,
    )


def _link(message) -> str:
    (found,) = LINK.findall(message.get_body(preferencelist=("plain",)).get_content())
    return found


def _claim(client: TestClient, link: str, password: str = PASSWORD):
    token = csrf_from(client, link)
    return client.post(
        link,
        data={
            "csrf_token": token,
            "password": password,
            "password_confirm": password,
            "privacy": "yes",
        },
        follow_redirects=False,
    )


def test_hr_invites_sees_who_claimed_and_a_claim_works_once(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    try:
        hr = _staff(app, HR_NIP)
        _import(hr, SITI, BUDI, ANI)
        with Session(app.state.engine) as session:
            entries = {e.nip: e.email for e in session.exec(select(RosterEntry)).all()}
        assert entries == {SITI[0]: SITI[2], BUDI[0]: BUDI[2], ANI[0]: None}
        page = hr.get("/manage/invitations").text
        assert "Belum diundang: 2" in re.sub(r"<[^>]+>", "", page)
        assert "1 orang di daftar pegawai tidak memiliki alamat email" in page
        # everyone in view who has not claimed
        sent = _post(hr, "/manage/invitations", scope="all")
        assert sent.status_code == 303 and "sent=yes" in sent.headers["location"]
        run_jobs(app)
        run_jobs(app)  # the mails the invitation job queued
        assert sorted(m["To"].addresses[0].addr_spec for m in inbox.received) == [
            BUDI[2],
            SITI[2],
        ]
        siti_mail = next(m for m in inbox.received if SITI[2] in str(m["To"]))
        assert siti_mail["Subject"] == "Akun belajar Anda di Platform BerAKHLAK sudah siap"
        body = siti_mail.get_body(preferencelist=("plain",)).get_content()
        assert "Pengelola kepegawaian Badan Kepegawaian Negara" in body
        link = _link(siti_mail)
        text = re.sub(r"<[^>]+>", "", hr.get("/manage/invitations?state=invited").text)
        assert "Sudah diundang, belum diklaim: 2" in text and SITI[1] in text

        learner = TestClient(app, base_url="http://testserver")
        assert SITI[1] in learner.get(link).text  # looking claims nothing
        assert login(learner, SITI[0], PASSWORD).status_code == 422
        assert _claim(learner, link, "qwertyuiop123").status_code == 422  # weak: refused
        claimed = _claim(learner, link)
        assert claimed.status_code == 303 and claimed.headers["location"] == "/me/learning"
        assert learner.get("/me/learning").status_code == 200
        assert _claim(TestClient(app, base_url="http://testserver"), link).status_code == 410
        with Session(app.state.engine) as session:
            siti = session.exec(select(User).where(User.nip == SITI[0])).one()
            assert siti.email_verified_at is not None  # the link proved the address
            invites = session.exec(
                select(AuditEvent).where(AuditEvent.action == "account.invite")
            ).all()
            assert {e.subject_id for e in invites} == {SITI[0], BUDI[0]}
            claim = session.exec(select(AuditEvent).where(AuditEvent.action == "user.claim")).one()
            assert '"by": "invitation"' in claim.detail
        text = re.sub(r"<[^>]+>", "", hr.get("/manage/invitations?state=claimed").text)
        assert SITI[1] in text and "Sudah punya akses" in text
    finally:
        server.stop()
        app.state.engine.dispose()


def test_resending_to_chosen_people_and_the_limits(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    moment = ManualClock()
    try:
        with clock.use(moment):
            hr = _staff(app, HR_NIP)
            page = _import(hr, SITI, BUDI)
            # the roster file's own button: its people who have not claimed
            done = _post(hr, f"{page}/invite")
            assert done.status_code == 303
            run_jobs(app)
            run_jobs(app)
            assert len(inbox.received) == 2
            first = _link(next(m for m in inbox.received if SITI[2] in str(m["To"])))
            # chosen people: invited within the hour, so skipped
            _post(hr, "/manage/invitations", scope="chosen", nip=[SITI[0]])
            run_jobs(app)
            run_jobs(app)
            assert len(inbox.received) == 2
            moment.advance(timedelta(hours=2))
            _post(hr, "/manage/invitations", scope="chosen", nip=[SITI[0]])
            run_jobs(app)
            run_jobs(app)
            assert len(inbox.received) == 3
            newest = _link(inbox.received[-1])
            learner = TestClient(app, base_url="http://testserver")
            assert learner.get(first).status_code == 410  # the newest link only
            # three a day per person: the fourth ask within the day sends nothing
            for _ in range(2):
                moment.advance(timedelta(hours=2))
                _post(hr, "/manage/invitations", scope="chosen", nip=[SITI[0]])
                run_jobs(app)
                run_jobs(app)
            assert len(inbox.received) == 4
            # nothing ticked: told, nothing sent
            nothing = _post(hr, "/manage/invitations", scope="chosen")
            assert nothing.status_code == 422 and "Centang dulu" in nothing.text
            assert _claim(learner, newest).status_code == 410  # the 4th mail's link is newer
            assert _claim(learner, _link(inbox.received[-1])).status_code == 303
    finally:
        server.stop()
        app.state.engine.dispose()


def test_hr_of_another_agency_invites_none_of_these_people(db_url) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    try:
        hr = _staff(app, HR_NIP)
        _import(hr, SITI)
        lan = _staff(app, LAN_NIP, code="LB-LAN")
        with Session(app.state.engine) as session:
            bkn = agency(session, "LB-BKN")
        page = lan.get(f"/manage/invitations?agency={bkn}&state=not_invited").text
        assert SITI[1] not in page
        _post(lan, "/manage/invitations", scope="all", agency_id=str(bkn))
        _post(lan, "/manage/invitations", scope="chosen", nip=[SITI[0]])
        run_jobs(app)
        run_jobs(app)
        assert inbox.received == []
    finally:
        server.stop()
        app.state.engine.dispose()


def test_a_refused_invitation_shows_on_hr_page(db_url) -> None:
    inbox, port = Inbox(refuse=True), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, port)
    try:
        hr = _staff(app, HR_NIP)
        _import(hr, SITI)
        _post(hr, "/manage/invitations", scope="all")
        run_jobs(app)
        run_jobs(app)
        with Session(app.state.engine) as session:
            (row_,) = session.exec(select(mail.MailMessage)).all()
            assert row_.status == mail.FAILED and "550" in (row_.last_error or "")
        page = hr.get("/manage/invitations?state=invited").text
        assert "tidak terkirim" in page
        assert "Email yang tidak terkirim (30 hari terakhir)" in page
        failed_section = page.split("Email yang tidak terkirim")[1]
        assert SITI[2] in failed_section and "No such mailbox" in failed_section
    finally:
        server.stop()
        app.state.engine.dispose()


def test_a_roster_row_without_email_cannot_be_claimed_until_hr_adds_one(app) -> None:
    hr = _staff(app, HR_NIP)
    _import(hr, ANI)
    client = TestClient(app, base_url="http://testserver")
    refused = register(client, nip=ANI[0], email="ani@gmail.com")
    assert refused.status_code == 422
    assert "tanpa alamat email" in refused.text
    _import(hr, row(ANI, email="ani@bkn.go.id"))  # HR adds it
    asked = register(client, nip=ANI[0], email="ani@bkn.go.id")
    assert asked.status_code == 200 and "Periksa email Anda" in asked.text
    with Session(app.state.engine) as session:
        (link,) = session.exec(select(AccountLink).where(AccountLink.purpose == "invite")).all()
        assert link.sent_to == "ani@bkn.go.id"


def test_a_roster_never_changes_the_address_of_a_claimed_account(app) -> None:
    client = TestClient(app, base_url="http://testserver")
    assert register(client, nip=SITI[0], email="siti.pribadi@gmail.com").status_code == 303
    hr = _staff(app, HR_NIP)
    page = _import(hr, SITI)  # lists another address for her
    assert "Diterapkan" in hr.get(page).text
    with Session(app.state.engine) as session:
        siti = session.exec(select(User).where(User.nip == SITI[0])).one()
        assert siti.email == "siti.pribadi@gmail.com"
        assert session.get(RosterEntry, SITI[0]).email == SITI[2]


def test_forgot_password_on_an_unclaimed_account_sends_its_invitation(app) -> None:
    hr = _staff(app, HR_NIP)
    _import(hr, SITI)
    client = TestClient(app, base_url="http://testserver")
    token = csrf_from(client, "/forgot-password")
    asked = client.post("/forgot-password", data={"csrf_token": token, "identifier": SITI[0]})
    assert asked.status_code == 200
    with Session(app.state.engine) as session:
        purposes = [link.purpose for link in session.exec(select(AccountLink)).all()]
        (sent,) = session.exec(select(mail.MailMessage)).all()
        (audited,) = session.exec(
            select(AuditEvent).where(AuditEvent.action == "account.invite")
        ).all()
    assert purposes == ["invite"]
    assert (sent.purpose, sent.to_address) == ("invite", SITI[2])  # the roster's address
    assert audited.actor_id is None and audited.subject_id == SITI[0]
