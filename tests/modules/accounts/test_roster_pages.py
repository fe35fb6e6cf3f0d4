"""HR roster import in the browser and on the command line: upload, dry run, confirm, report;
only the uploader (or an admin) sees an upload; people made by a roster claim their account
by registering with the same NIP and email."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import clock, mail, security
from app.cli import cli
from app.clock import ManualClock, utcnow
from app.main import create_app
from app.security import hash_password
from modules.accounts import grants, roster_file
from modules.accounts.models import RosterUpload, User
from modules.audit.models import AuditEvent
from tests import excel
from tests.conftest import (
    SECRET,
    agency_id,
    csrf_from,
    login,
    make_settings,
    make_user,
    register,
    run_jobs,
)
from tests.modules.accounts.test_roster import BUDI, SITI, agency, csv_bytes, row, xlsx_bytes

PASSWORD = "kata-sandi-panjang-sekali-9"
HR_NIP, OTHER_NIP, ADMIN_NIP = "198001012005011001", "198001012005011002", "198001012005011003"


def _staff(app, nip: str, role: str = "hr", code: str = "LB-BKN") -> TestClient:
    """A logged-in client of a new HR officer of `code` (or an admin)."""
    with Session(app.state.engine) as session:
        user = make_user(
            session,
            nip_number=nip,
            email=f"{nip}@bkn.go.id",
            password_hash=hash_password(PASSWORD),
            agency_id=agency(session, code),
        )
        scope = agency(session, code) if role == "hr" else None
        grants.grant(session=session, user=user, role=role, agency_id=scope)
    client = TestClient(app, base_url="http://testserver")
    assert login(client, nip, PASSWORD).status_code == 303
    return client


def _upload(client: TestClient, raw: bytes, name: str = "pegawai.csv"):
    token = csrf_from(client, "/manage/roster")
    return client.post(
        "/manage/roster",
        data={"csrf_token": token},
        files={"file": (name, raw, "text/csv")},
        follow_redirects=False,
    )


def _uploads(app) -> list[RosterUpload]:
    with Session(app.state.engine) as session:
        return list(session.exec(select(RosterUpload)).all())


def _text(html: str) -> str:
    return " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())


def test_hr_uploads_reads_the_dry_run_applies_once_and_downloads_the_report(app) -> None:
    client = _staff(app, HR_NIP)
    form = client.get("/manage/roster")
    assert form.status_code == 200 and 'type="file"' in form.text and "jenis_pegawai" in form.text
    bad_row = row(BUDI, nip="199505052023212002", golongan="III/a", email="b2@bkn.go.id")
    sent = _upload(client, csv_bytes(SITI, BUDI, bad_row, sep=";"))
    assert sent.status_code == 303
    page_url = sent.headers["location"]
    assert re.fullmatch(r"/manage/roster/[0-9a-f]{32}", page_url)
    dry = _text(client.get(page_url).text)
    assert "Uji coba: belum ada yang berubah." in dry
    assert "Dibuat: 2" in dry and "Ditolak: 1" in dry
    assert "Baris 4 · 199505052023212002 · Budi Santoso golongan : Bukan golongan PPPK" in dry
    with Session(app.state.engine) as session:
        assert session.exec(select(User).where(User.nip == SITI[0])).first() is None
    token = csrf_from(client, page_url)
    applied = client.post(f"{page_url}/apply", data={"csrf_token": token}, follow_redirects=False)
    assert applied.status_code == 303 and applied.headers["location"] == page_url
    after = _text(client.get(page_url).text)
    assert (
        "Diterapkan pada" in after and "2 dibuat, 0 diperbarui, 0 tidak berubah, 1 ditolak" in after
    )
    again = client.post(f"{page_url}/apply", data={"csrf_token": token})
    assert again.status_code == 409 and "sudah diterapkan" in again.text
    report = client.get(f"{page_url}/report.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = excel.read(report.content, "id-ID")  # as Excel in Indonesian shows it
    assert rows[0] == ["Baris", "NIP", "Nama", "Hasil", "Kolom", "Keterangan"]
    assert rows[3][:5] == [4, "199505052023212002", "Budi Santoso", "ditolak", "golongan"]
    assert excel.formulas(rows) == []
    listing = _text(client.get("/manage/roster").text)
    assert "pegawai.csv 3" in listing and "Diterapkan" in listing


def test_an_xlsx_upload_keeps_row_numbers_and_the_nip_stored_as_a_number(app) -> None:
    client = _staff(app, HR_NIP)
    raw = xlsx_bytes(SITI, (), (int(BUDI[0]), *BUDI[1:]))
    sent = _upload(client, raw, name="pegawai.xlsx")
    assert sent.status_code == 303
    dry = _text(client.get(sent.headers["location"]).text)
    # the number came back rounded (...000 for ...001): why such a NIP is never used
    assert "Dibuat: 1" in dry
    assert "Baris 4 · 199505052023212000 · Budi Santoso nip : NIP tersimpan sebagai angka" in dry
    with Session(app.state.engine) as session:
        upload = session.exec(select(RosterUpload)).one()
        assert upload.rows == 2 and upload.sha256 == hashlib.sha256(raw).hexdigest()


def test_an_upload_is_seen_only_by_its_uploader_and_admins(app) -> None:
    owner = _staff(app, HR_NIP)
    page_url = _upload(owner, csv_bytes(SITI)).headers["location"]
    other = _staff(app, OTHER_NIP, code="LB-LAN")
    token = csrf_from(other, "/manage/roster")
    assert other.get(page_url).status_code == 404
    assert other.get(f"{page_url}/report.csv").status_code == 404
    assert other.post(f"{page_url}/apply", data={"csrf_token": token}).status_code == 404
    assert "pegawai.csv" not in other.get("/manage/roster").text
    admin = _staff(app, ADMIN_NIP, role="admin")
    assert admin.get(page_url).status_code == 200


def test_an_unreadable_file_is_refused_on_the_form_and_nothing_is_kept(app) -> None:
    client = _staff(app, HR_NIP)
    refused = _upload(client, "nip;nama\n1;Désirée\n".encode("cp1252"))
    assert refused.status_code == 422 and "CSV UTF-8" in refused.text
    too_big = _upload(client, b"x" * (roster_file.MAX_BYTES + 1))
    assert too_big.status_code == 422 and "10 MB" in too_big.text
    token = csrf_from(client, "/manage/roster")
    empty = client.post("/manage/roster", data={"csrf_token": token}, files={"file": ("", b"")})
    assert empty.status_code == 422
    assert _uploads(app) == []


def test_the_row_limit_comes_from_the_settings(db_url) -> None:
    app = create_app(make_settings(db_url, roster_max_rows=2))
    client = _staff(app, HR_NIP)
    refused = _upload(client, csv_bytes(SITI, BUDI, row(nip="199001012015031002")))
    assert refused.status_code == 422 and "lebih dari 2 baris" in refused.text
    assert _upload(client, csv_bytes(SITI, BUDI)).status_code == 303
    app.state.engine.dispose()


def test_a_body_far_over_the_limit_gets_413_and_a_small_form_keeps_its_own_limit(app) -> None:
    client = _staff(app, HR_NIP)
    huge = _upload(client, b"x" * (roster_file.MAX_BYTES + 200_000))
    assert huge.status_code == 413
    token = csrf_from(client, "/me/profile")
    big_form = client.post("/me/profile", data={"csrf_token": token, "name": "x" * 1_100_000})
    assert big_form.status_code == 413  # other forms keep BERAKHLAK_MAX_BODY_BYTES


def test_uploading_needs_the_csrf_token(app) -> None:
    client = _staff(app, HR_NIP)
    forged = client.post("/manage/roster", files={"file": ("a.csv", csv_bytes(SITI))})
    assert forged.status_code == 403 and _uploads(app) == []


def test_uploads_older_than_a_day_are_gone(app) -> None:
    client = _staff(app, HR_NIP)
    page_url = _upload(client, csv_bytes(SITI)).headers["location"]
    with Session(app.state.engine) as session:
        old = session.exec(select(RosterUpload)).one()
        old.created_at = utcnow() - timedelta(days=1, minutes=1)
        session.add(old)
        session.commit()
    assert client.get(page_url).status_code == 404
    _upload(client, csv_bytes(BUDI))
    assert len(_uploads(app)) == 2  # kept until the worker's hourly clean-up runs
    with clock.use(ManualClock()) as moment:
        moment.advance(timedelta(hours=1, seconds=1))  # the schedule made at start-up is due
        run_jobs(app)
    assert len(_uploads(app)) == 1  # the day-old file (and the people's data in it) is gone


def _import_siti(app) -> None:
    client = _staff(app, HR_NIP)
    page_url = _upload(client, csv_bytes(SITI)).headers["location"]
    token = csrf_from(client, page_url)
    assert client.post(f"{page_url}/apply", data={"csrf_token": token}).status_code == 200


def test_an_imported_account_cannot_log_in_until_claimed(app, monkeypatch) -> None:
    _import_siti(app)
    client = TestClient(app, base_url="http://testserver")
    assert login(client, SITI[0], PASSWORD).status_code == 422
    # even a password matching the stand-in hash used for unknown accounts does not open it
    monkeypatch.setattr(security, "_DUMMY_HASH", hash_password(PASSWORD))
    assert login(client, SITI[0], PASSWORD).status_code == 422
    assert login(client, SITI[2], PASSWORD).status_code == 422


def _invitation_link(app, to: str) -> str:
    """The claim link of the newest invitation mailed to `to` (as composed for the mail)."""
    with Session(app.state.engine) as session:
        (found,) = session.exec(
            select(mail.MailMessage)
            .where(mail.MailMessage.to_address == to, mail.MailMessage.purpose == "invite")
            .order_by(mail.MailMessage.id.desc())  # type: ignore[union-attr]
            .limit(1)
        ).all()
    return re.findall(r"https?://[^/\s]+(/claim/[A-Za-z0-9_-]+)", found.text_body)[0]


def test_registering_with_the_roster_nip_and_email_mails_an_invitation_never_a_claim(app) -> None:
    _import_siti(app)
    client = TestClient(app, base_url="http://testserver")
    other_email = register(client, nip=SITI[0], email="siti.pribadi@gmail.com")
    assert other_email.status_code == 422
    assert "dengan alamat email lain" in other_email.text  # the roster's address only
    other_nip = register(client, nip="199001012015031009", email=SITI[2])
    assert other_nip.status_code == 422
    # the roster's NIP and email: no account is taken over by the form, an invitation goes
    # to the roster's address instead
    asked = register(
        client,
        nip=SITI[0],
        email=SITI[2],
        position="Analis SDM Ahli Muda",
        agency="Lembaga Administrasi Negara",
    )
    assert asked.status_code == 200 and "Periksa email Anda" in asked.text
    assert "bk_session" not in asked.headers.get("set-cookie", "")
    with Session(app.state.engine) as session:
        siti = session.exec(select(User).where(User.nip == SITI[0])).one()
        assert siti.password_hash == ""
    link = _invitation_link(app, SITI[2])
    assert "Siti Rahmawati" in client.get(link).text  # looking claims nothing
    token = csrf_from(client, link)
    weak = client.post(link, data={"csrf_token": token, "password": "qwertyuiop123"})
    assert weak.status_code == 422
    claimed = client.post(
        link,
        data={
            "csrf_token": token,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "privacy": "yes",
        },
        follow_redirects=False,
    )
    assert claimed.status_code == 303 and "bk_session" in claimed.headers.get("set-cookie", "")
    assert client.get("/me/profile", follow_redirects=False).status_code == 200
    with Session(app.state.engine) as session:
        siti = session.exec(select(User).where(User.nip == SITI[0])).one()
        # a claim sets the password only: HR's roster data stays, and the address is proven
        assert siti.password_hash and siti.position == SITI[5]
        assert siti.agency_id == agency_id(client, "LB-BKN") and siti.work_unit == SITI[4]
        assert siti.email_verified_at is not None
        claims = session.exec(select(AuditEvent).where(AuditEvent.action == "user.claim")).all()
        assert [c.subject_id for c in claims] == [SITI[0]]
    assert client.get(link).status_code == 410  # once
    stranger = TestClient(app, base_url="http://testserver")
    again = register(stranger, nip=SITI[0], email=SITI[2])
    assert again.status_code == 422  # claimed: now it simply exists, and a dispute is offered
    assert "/nip-dispute?nip=" in again.text
    assert login(stranger, SITI[0], PASSWORD).status_code == 303


@pytest.fixture
def run(db_url: str, monkeypatch):
    monkeypatch.setenv("BERAKHLAK_DATABASE_URL", db_url)
    monkeypatch.setenv("BERAKHLAK_SECRET_KEY", SECRET)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, ["--lang", "en", *args])


def test_the_command_line_runs_the_same_dry_run_and_apply(app, run, tmp_path) -> None:
    _staff(app, HR_NIP)
    file = tmp_path / "pegawai.csv"
    file.write_bytes(csv_bytes(SITI, row(BUDI, instansi="LB-LAN")))
    dry = run("users", "import", str(file), "--as", HR_NIP)
    assert dry.exit_code == 1, dry.output
    assert f"{file}:2: {SITI[0]} created" in dry.output
    assert f"{file}:3: instansi: You may not import people of this agency." in dry.output
    assert "dry run: created 1, updated 0, unchanged 0, rejected 1" in dry.output
    file.write_bytes(csv_bytes(SITI))
    done = run("users", "import", str(file), "--as", HR_NIP, "--apply")
    assert done.exit_code == 0 and "applied: created 1" in done.output
    again = run("users", "import", str(file), "--as", HR_NIP, "--apply")
    assert again.exit_code == 0 and "unchanged 1" in again.output
    file.write_bytes(b"nip\tnama\n")
    refused = run("users", "import", str(file), "--as", HR_NIP)
    assert refused.exit_code == 1 and "separated by tabs" in refused.output
    nobody = run("users", "import", str(file), "--as", SITI[0])
    assert nobody.exit_code == 2 and "manages nobody" in nobody.output
