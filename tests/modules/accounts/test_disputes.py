"""NIP disputes run to each outcome: the rightful holder reports the account that uses their
NIP, confirms it from the mail (read back from aiosmtpd), and HR of the roster's agency (an
administrator where no roster holds the NIP) suspends, transfers or keeps it; every step is
audited and both parties are mailed; a transfer re-issues the certificates in the holder's
name through the workflow."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock
from app.clock import ManualClock
from modules.accounts import disputes
from modules.accounts.models import MoveRequest, NipDispute, User
from modules.audit.models import AuditEvent
from modules.certificates.models import Certificate
from tests.app.test_mail import Inbox, _port, _smtp
from tests.conftest import csrf_from, login, register, run_jobs
from tests.modules.accounts.test_invitations import _claim, _import, _staff
from tests.modules.accounts.test_roster import SITI, agency, row
from tests.modules.certificates.helpers import complete_in_browserless_client, make_app

HR_NIP, LAN_NIP, ADMIN_NIP = "198001012005011001", "198001012005011002", "198001012005011003"
SQUATTER_PASSWORD = "kata-sandi-yang-panjang-1"  # tests.conftest's, used by register()
STATEMENT = "Saya pegawai Bidang A BKN sejak 2015, SK CPNS nomor 123/2015, atasan Pak Budi."


def _app(db_url, tmp_path, port: int):
    return make_app(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")


def _squatter(app) -> TestClient:
    """Someone registers Siti's NIP with their own name and address."""
    client = TestClient(app, base_url="http://testserver")
    made = register(client, nip=SITI[0], name="Penyerobot", email="penyerobot@gmail.com")
    assert made.status_code == 303
    return client


def _mails(inbox: Inbox, to: str) -> list:
    return [m for m in inbox.received if to in str(m["To"])]


def _link(message, path: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    (found,) = re.findall(rf"http://testserver({path}/[A-Za-z0-9_-]+)", body)
    return found


def _file(app, inbox: Inbox) -> str:
    """The real Siti is refused at registration, reports, and confirms from her mail."""
    siti = TestClient(app, base_url="http://testserver")
    refused = register(siti, nip=SITI[0], email=SITI[2])
    assert refused.status_code == 422 and "/nip-dispute?nip=" in refused.text
    form = siti.get(f"/nip-dispute?nip={SITI[0]}")
    assert SITI[0] in form.text
    filed = siti.post(
        "/nip-dispute",
        data={
            "csrf_token": csrf_from(siti, "/nip-dispute"),
            "nip": SITI[0],
            "name": SITI[1],
            "email": SITI[2],
            "statement": STATEMENT,
        },
    )
    assert filed.status_code == 200 and "Buka dalam 24 jam" in filed.text
    run_jobs(app)
    (confirm_mail,) = _mails(inbox, SITI[2])
    link = _link(confirm_mail, "/nip-dispute/confirm")
    assert SITI[1] in siti.get(link).text  # looking sends nothing
    run_jobs(app)
    assert len(inbox.received) == 1
    opened = siti.post(link, data={"csrf_token": csrf_from(siti, link)})
    assert opened.status_code == 200 and "telah terkirim" in opened.text
    assert siti.get(link).status_code == 410  # once
    run_jobs(app)
    (notice,) = _mails(inbox, "penyerobot@gmail.com")
    assert (
        notice["Subject"].strip()
        == f"Seseorang menyatakan NIP {SITI[0]} pada akun Anda adalah miliknya"
    )
    with Session(app.state.engine) as session:
        dispute = session.exec(select(NipDispute)).one()
        return f"/manage/disputes/{dispute.id}"


def _decide(client: TestClient, url: str, outcome: str, note: str = "Diperiksa dengan SK CPNS."):
    return client.post(
        url,
        data={"csrf_token": csrf_from(client, url), "outcome": outcome, "note": note},
        follow_redirects=False,
    )


def _actions(app) -> list[str]:
    with Session(app.state.engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        return [e.action for e in events if e.action.startswith("dispute.")]


def test_hr_of_the_roster_transfers_the_account_and_its_certificate(db_url, tmp_path) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, tmp_path, port)
    try:
        squatter = _squatter(app)
        complete_in_browserless_client(squatter)
        with Session(app.state.engine) as session:
            (old,) = session.exec(select(Certificate)).all()
            assert old.holder_name == "Penyerobot"
        hr = _staff(app, HR_NIP)
        _import(hr, SITI)  # BKN's roster lists the NIP: BKN's HR resolves disputes over it
        url = _file(app, inbox)

        listed = hr.get("/manage/disputes")
        assert SITI[1] in listed.text and url in listed.text
        lan = _staff(app, LAN_NIP, code="LB-LAN")
        assert url not in lan.get("/manage/disputes").text
        assert lan.get(url).status_code == 404
        assert _decide(lan, url, "transfer").status_code == 404
        page = hr.get(url).text
        assert STATEMENT in page and "penyerobot@gmail.com" in page

        no_note = _decide(hr, url, "transfer", note="")
        assert no_note.status_code == 422 and "5 sampai 2.000 karakter" in no_note.text
        assert _decide(hr, url, "transfer").status_code == 303
        assert _decide(hr, url, "keep").status_code == 409  # decided
        run_jobs(app)

        # the squatter is out: their session ended, their password opens nothing
        assert squatter.get("/me/learning", follow_redirects=False).status_code == 303
        assert login(TestClient(app), SITI[0], SQUATTER_PASSWORD).status_code == 422
        with Session(app.state.engine) as session:
            account = session.exec(select(User).where(User.nip == SITI[0])).one()
            assert (account.name, account.email) == (SITI[1], SITI[2])
            certificates = session.exec(select(Certificate).order_by(Certificate.id)).all()  # type: ignore[arg-type]
            assert [c.holder_name for c in certificates] == ["Penyerobot", SITI[1]]
            assert certificates[0].revoked_reason == "reissued"
            assert certificates[1].user_id == account.id
            new_number = certificates[1].number
            transfer = session.exec(
                select(AuditEvent).where(AuditEvent.action == "dispute.transfer")
            ).one()
            assert "penyerobot@gmail.com" in transfer.detail and SITI[2] in transfer.detail
        assert _actions(app) == ["dispute.file", "dispute.transfer"]
        outcome_old = [
            m for m in _mails(inbox, "penyerobot@gmail.com") if "Keputusan" in m["Subject"]
        ]
        assert len(outcome_old) == 1
        assert (
            "milik orang lain" in outcome_old[0].get_body(preferencelist=("plain",)).get_content()
        )
        to_siti = _mails(inbox, SITI[2])
        subjects = sorted(m["Subject"] for m in to_siti)
        assert f"Keputusan tentang NIP {SITI[0]}" in subjects
        invitation = next(m for m in to_siti if "sudah siap" in m["Subject"])
        siti = TestClient(app, base_url="http://testserver")
        assert _claim(siti, _link(invitation, "/claim")).status_code == 303
        assert new_number in siti.get("/certificates").text
        # her data download holds nothing of the former holder, nor a claimant's words
        document = siti.get("/me/data.json").text
        assert "penyerobot@gmail.com" not in document and "Penyerobot" not in document
        assert STATEMENT not in document
        about = json.loads(document)["audit"]["about_you"]
        assert {e["action"] for e in about} >= {"dispute.transfer"}
        assert all("address" not in e and "detail" not in e for e in about)
    finally:
        server.stop()
        app.state.engine.dispose()


def test_an_administrator_suspends_then_keeps_where_no_roster_holds_the_nip(
    db_url, tmp_path
) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, tmp_path, port)
    try:
        _squatter(app)
        hr = _staff(app, HR_NIP)
        admin = _staff(app, ADMIN_NIP, role="admin")
        url = _file(app, inbox)
        assert url not in hr.get("/manage/disputes").text  # no roster: not BKN's to decide
        assert hr.get(url).status_code == 404
        assert url in admin.get("/manage/disputes").text

        assert _decide(admin, url, "suspend").status_code == 303
        assert login(TestClient(app), SITI[0], SQUATTER_PASSWORD).status_code == 422
        assert "ditangguhkan" in admin.get(url).text
        assert _decide(admin, url, "suspend").status_code == 409
        assert _decide(admin, url, "keep").status_code == 303
        assert login(TestClient(app), SITI[0], SQUATTER_PASSWORD).status_code == 303
        assert url not in admin.get("/manage/disputes").text  # decided
        assert url in admin.get("/manage/disputes?closed=1").text
        run_jobs(app)
        assert _actions(app) == ["dispute.file", "dispute.suspend", "dispute.keep"]
        outcomes = [m for m in inbox.received if "Keputusan" in m["Subject"]]
        assert sorted(str(m["To"]) for m in outcomes).count(f"{SITI[1]} <{SITI[2]}>") == 2
        assert len(outcomes) == 4  # both parties, twice
        kept = _mails(inbox, SITI[2])[-1].get_body(preferencelist=("plain",)).get_content()
        assert "tetap pada pemegangnya" in kept and "Diperiksa dengan SK CPNS." in kept
    finally:
        server.stop()
        app.state.engine.dispose()


def test_a_report_is_refused_where_it_makes_no_sense_and_its_link_expires(db_url, tmp_path) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, tmp_path, port)
    moment = ManualClock()
    try:
        with clock.use(moment):
            client = TestClient(app, base_url="http://testserver")

            def file(**fields: str):
                data = {"nip": SITI[0], "name": SITI[1], "email": SITI[2], "statement": STATEMENT}
                data.update(fields)
                token = csrf_from(client, "/nip-dispute")
                return client.post("/nip-dispute", data={"csrf_token": token, **data})

            free = file()
            assert free.status_code == 422 and "silakan daftar" in free.text  # nobody holds it
            _squatter(app)
            assert file(statement="pendek").status_code == 422
            # the holder's own address: no dispute, no word that it is theirs; a reset goes
            # to that address, as "forgot my password" would send
            same = file(email="penyerobot@gmail.com")
            assert same.status_code == 200 and "Buka dalam 24 jam" in same.text
            run_jobs(app)
            (reset,) = _mails(inbox, "penyerobot@gmail.com")
            assert "/reset-password/" in reset.get_body(preferencelist=("plain",)).get_content()
            with Session(app.state.engine) as session:
                assert session.exec(select(NipDispute)).all() == []
            assert file().status_code == 200
            run_jobs(app)
            link = _link(_mails(inbox, SITI[2])[0], "/nip-dispute/confirm")
            admin = _staff(app, ADMIN_NIP, role="admin")
            assert "/manage/disputes/" not in admin.get("/manage/disputes").text  # unconfirmed
            moment.advance(timedelta(hours=25))
            assert client.get(link).status_code == 410
            answers = [file().status_code for _ in range(4)]
            assert answers[0] == 200 and answers[-1] == 429  # three a day per NIP and claimant
            assert set(answers) == {200, 429}
    finally:
        server.stop()
        app.state.engine.dispose()


def test_who_decides_follows_the_holder_and_one_decision_wins(db_url, tmp_path) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, tmp_path, port)
    try:
        squatter = _squatter(app)
        hr = _staff(app, HR_NIP)
        _import(hr, SITI)
        url = _file(app, inbox)
        # a second claimant reports the same NIP
        other = TestClient(app, base_url="http://testserver")
        other.post(
            "/nip-dispute",
            data={
                "csrf_token": csrf_from(other, "/nip-dispute"),
                "nip": SITI[0],
                "name": "Orang Lain",
                "email": "lain@bkn.go.id",
                "statement": STATEMENT,
            },
        )
        run_jobs(app)
        (confirm,) = _mails(inbox, "lain@bkn.go.id")
        link = _link(confirm, "/nip-dispute/confirm")
        other.post(link, data={"csrf_token": csrf_from(other, link)})

        # the holder moves themselves to LAN: as BKN's roster lists the NIP, the move waits
        # for BKN's HR (a holder cannot slip away from the roster's HR by moving); once it is
        # approved, BKN's HR no longer decides the dispute, an admin does
        token = csrf_from(squatter, "/me/profile")
        moved = squatter.post(
            "/me/profile",
            data={
                "csrf_token": token,
                "name": "Penyerobot",
                "email": "penyerobot@gmail.com",
                "agency": "Lembaga Administrasi Negara",
                "work_unit": "Biro Umum",
                "position": "Analis",
                "grade": "III/a",
            },
            follow_redirects=False,
        )
        assert moved.status_code == 303
        assert moved.headers["location"].endswith("saved=move-pending")
        assert hr.get(url).status_code == 200
        with Session(app.state.engine) as session:
            move = session.exec(select(MoveRequest)).one()
        token = csrf_from(hr, "/manage/moves")
        decided = hr.post(
            f"/manage/moves/{move.id}",
            data={"decision": "approve", "csrf_token": token},
            follow_redirects=False,
        )
        assert decided.status_code == 303
        assert hr.get(url).status_code == 404
        admin = _staff(app, ADMIN_NIP, role="admin")
        assert admin.get(url).status_code == 200

        # an officer cannot give the account to themselves
        with Session(app.state.engine) as session:
            dispute = session.exec(select(NipDispute).order_by(NipDispute.id)).first()  # type: ignore[arg-type]
            with pytest.raises(disputes.DisputeError):
                disputes.resolve(
                    session=session,
                    settings=app.state.settings,
                    dispute=dispute,
                    outcome="transfer",
                    note="Diperiksa.",
                    officer_id=1,
                    officer_email=SITI[2],
                    address="127.0.0.1",
                )
            session.rollback()
        # two decisions at once: the one that reads the dispute second loses
        with Session(app.state.engine) as first, Session(app.state.engine) as second:
            a = first.exec(select(NipDispute).order_by(NipDispute.id)).first()  # type: ignore[arg-type]
            b = second.exec(select(NipDispute).order_by(NipDispute.id)).first()  # type: ignore[arg-type]
            disputes.resolve(
                session=first,
                settings=app.state.settings,
                dispute=a,
                outcome="transfer",
                note="Diperiksa dengan SK.",
                officer_id=1,
                officer_email="admin@bkn.go.id",
                address="127.0.0.1",
            )
            with pytest.raises(disputes.DisputeError):
                disputes.resolve(
                    session=second,
                    settings=app.state.settings,
                    dispute=b,
                    outcome="keep",
                    note="Diperiksa juga.",
                    officer_id=1,
                    officer_email="admin@bkn.go.id",
                    address="127.0.0.1",
                )
        with Session(app.state.engine) as session:
            statuses = [d.status for d in session.exec(select(NipDispute).order_by(NipDispute.id))]  # type: ignore[arg-type]
            assert statuses == ["transferred", "closed"]  # the other report ends with it
        run_jobs(app)
        closed = _mails(inbox, "lain@bkn.go.id")[-1].get_body(preferencelist=("plain",))
        assert "kepada orang lain; laporan Anda ditutup" in closed.get_content()

        # the next roster import lists the old address: the account keeps its new holder's
        _import(admin, row(SITI, email="penyerobot.kantor@bkn.go.id"))
        with Session(app.state.engine) as session:
            account = session.exec(select(User).where(User.nip == SITI[0])).one()
            assert account.email == SITI[2]
            assert account.agency_id == agency(session, "LB-BKN")  # the import did apply
    finally:
        server.stop()
        app.state.engine.dispose()


def test_keeping_does_not_reactivate_an_account_deactivated_for_another_reason(
    db_url, tmp_path
) -> None:
    inbox, port = Inbox(), _port()
    server = _smtp(inbox, port)
    app = _app(db_url, tmp_path, port)
    try:
        _squatter(app)
        admin = _staff(app, ADMIN_NIP, role="admin")
        url = _file(app, inbox)
        with Session(app.state.engine) as session:
            account = session.exec(select(User).where(User.nip == SITI[0])).one()
            account.active = False
            session.add(account)
            session.commit()
        assert _decide(admin, url, "keep").status_code == 303
        with Session(app.state.engine) as session:
            assert session.exec(select(User).where(User.nip == SITI[0])).one().active is False
    finally:
        server.stop()
        app.state.engine.dispose()
