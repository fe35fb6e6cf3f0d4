"""HR imports a roster in headless Chromium (upload, dry run, confirm, report) and invites its
people; a person from it claims the account through the invitation read back from a real SMTP
server (aiosmtpd), changes their email address through the link mailed to the new one, and stops
due-date reminders through the link in a reminder."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app import clock, jobs
from app.main import create_app
from app.security import hash_password
from modules.accounts import grants
from modules.accounts.models import User
from modules.learning.reminders import REMINDER_JOB
from modules.progress.models import Enrollment
from tests import excel
from tests.app.test_mail import Inbox, _port, _smtp
from tests.browser.conftest import _free_port, open_menu, register_in_browser, serve
from tests.browser.test_mail_journey import _next_link
from tests.conftest import PASSWORD, make_settings, make_user
from tests.modules.accounts.test_roster import BUDI, SITI, agency, csv_bytes, row

pytestmark = pytest.mark.browser
HR_NIP = "198001012005011001"
CHOSEN = "jendela-kopi-gunung-payung"


def test_hr_imports_a_roster_and_a_person_claims_their_account(
    db_url: str, browser, tmp_path
) -> None:
    inbox, smtp_port = Inbox(), _port()
    smtp = _smtp(inbox, smtp_port)
    port = _free_port()
    app = create_app(
        make_settings(
            db_url,
            worker_in_process="on",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            base_url=f"http://127.0.0.1:{port}",
        )
    )
    with Session(app.state.engine) as session:
        officer = make_user(
            session,
            nip_number=HR_NIP,
            email="rina@bkn.go.id",
            password_hash=hash_password(PASSWORD),
            agency_id=agency(session),
        )
        grants.grant(session=session, user=officer, role="hr", agency_id=agency(session))
    roster = tmp_path / "pegawai.csv"
    roster.write_bytes(csv_bytes(SITI, BUDI, row(BUDI, nip="1", email="x@bkn.go.id"), sep=";"))
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="id-ID", accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        _journey(app, port, page, inbox, roster, tmp_path)
    finally:
        context.close()
        smtp.stop()
    assert errors == []


def _journey(app, port: int, page, inbox: Inbox, roster, tmp_path) -> None:
    with serve(app, port) as base:
        page.goto(f"{base}/login")
        page.fill("#f-identifier", HR_NIP)
        page.fill("#f-password", PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        page.wait_for_url(re.compile(r"/me/learning$"))
        page.goto(f"{base}/me/profile")
        page.get_by_role("link", name="Impor daftar pegawai").click()
        page.set_input_files("#f-file", str(roster))
        page.get_by_role("button", name="Periksa berkas").click()
        page.wait_for_url(re.compile(r"/manage/roster/[0-9a-f]{32}$"))
        assert "Uji coba: belum ada yang berubah." in page.content()
        assert "NIP terdiri atas tepat 18 digit." in page.content()
        with page.expect_download() as waiting:
            page.get_by_role("link", name="Unduh laporan semua baris (CSV)").click()
        report = excel.read(waiting.value.path().read_bytes(), "id-ID")  # tests/excel.py
        assert report[0] == ["Baris", "NIP", "Nama", "Hasil", "Kolom", "Keterangan"]
        assert len(report) == 4
        page.get_by_role("button", name="Terapkan 2 perubahan").click()
        page.get_by_text("2 dibuat, 0 diperbarui, 0 tidak berubah, 1 ditolak").wait_for()
        page.screenshot(path=str(tmp_path / "applied.png"), full_page=True)
        page.get_by_role(
            "button", name="Undang orang dalam berkas ini yang belum mengklaim akunnya"
        ).click()
        page.wait_for_url(re.compile(r"/manage/invitations\?state=invited&sent=yes$"))
        page.screenshot(path=str(tmp_path / "invitations.png"), full_page=True)
        open_menu(page)
        page.get_by_role("button", name="Keluar").click()

        # registering is no way in: the roster's address gets the invitation instead
        register_in_browser(page, base, nip=SITI[0], email=SITI[2])
        page.get_by_text("Periksa email Anda").first.wait_for()
        # HR's two invitations, then the one the registration sent Siti (the newest link
        # is the one that works)
        deadline = clock.utcnow() + timedelta(seconds=20)
        while True:
            siti_mail = [i for i, m in enumerate(inbox.received, 1) if SITI[2] in str(m["To"])]
            if len(inbox.received) >= 3 and len(siti_mail) >= 2:
                break
            assert clock.utcnow() < deadline, "the invitations did not arrive"
            page.wait_for_timeout(50)
        page.goto(_next_link(inbox, siti_mail[-1], "claim"))
        assert SITI[1] in page.content()
        page.get_by_label("Kata sandi", exact=True).fill(CHOSEN)
        page.get_by_label("Ulangi kata sandi").fill(CHOSEN)
        page.check("#f-privacy")
        page.get_by_role("button", name="Klaim akun saya").click()
        page.wait_for_url(re.compile(r"/me/learning$"))  # claimed and logged in
        page.screenshot(path=str(tmp_path / "claimed.png"), full_page=True)

        # a new address, confirmed from that address; the old one is told
        page.goto(f"{base}/me/profile")
        page.fill("#f-email", "siti.baru@bkn.go.id")
        page.get_by_role("button", name="Simpan", exact=True).first.click()
        page.wait_for_url(re.compile(r"saved=email-pending$"))
        page.goto(_confirm_link(inbox))
        page.get_by_role("button", name="Konfirmasi alamat ini").click()
        page.wait_for_url(re.compile(r"/me/profile\?saved=email$"))
        assert page.input_value("#f-email") == "siti.baru@bkn.go.id"

        # a due-date reminder, and its link that stops them without logging in
        with Session(app.state.engine) as session:
            siti_id = session.exec(select(User.id).where(User.nip == SITI[0])).one()
            today = clock.today(app.state.settings.tz)
            session.add(
                Enrollment(
                    user_id=siti_id,
                    course_id="berakhlak",
                    assigned_at=clock.utcnow(),
                    due_on=today + timedelta(days=3),
                )
            )
            jobs.enqueue(session, REMINDER_JOB)
            session.commit()
        reminder = _wait_for(inbox, "Tenggat 3 hari lagi")
        body = reminder.get_body(preferencelist=("plain",)).get_content()
        (unsubscribe,) = re.findall(r"(http://127\.0\.0\.1:\d+/unsubscribe/[0-9a-f.]+)", body)
        open_menu(page)
        page.get_by_role("button", name="Keluar").click()
        page.goto(unsubscribe)
        page.get_by_role("button", name="Hentikan pengingat").click()
        page.get_by_text("kami tidak lagi mengirimi Anda pengingat").wait_for()
        page.screenshot(path=str(tmp_path / "unsubscribed.png"), full_page=True)
        with Session(app.state.engine) as session:
            assert session.get(User, siti_id).reminders is False


def _wait_for(inbox: Inbox, subject: str):
    deadline = clock.utcnow() + timedelta(seconds=20)
    while True:
        found = [m for m in inbox.received if subject in str(m["Subject"])]
        if found:
            return found[-1]
        assert clock.utcnow() < deadline, f"no mail {subject!r}"
        time.sleep(0.05)


def _confirm_link(inbox: Inbox) -> str:
    message = _wait_for(inbox, "Konfirmasi alamat email baru")
    text = message.get_body(preferencelist=("plain",)).get_content()
    (link,) = re.findall(r"(http://127\.0\.0\.1:\d+/confirm-email/[A-Za-z0-9_-]+)", text)
    return link
