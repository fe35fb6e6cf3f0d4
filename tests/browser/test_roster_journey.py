"""HR imports a roster in headless Chromium (upload, dry run, confirm, report), then a person
from it claims their account by registering with the same NIP and email."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from app.main import create_app
from app.security import hash_password
from modules.accounts import grants
from tests.browser.conftest import _free_port, register_in_browser, serve
from tests.conftest import PASSWORD, make_settings, make_user
from tests.modules.accounts.test_roster import BUDI, SITI, agency, csv_bytes, row

pytestmark = pytest.mark.browser
HR_NIP = "198001012005011001"


def test_hr_imports_a_roster_and_a_person_claims_their_account(
    db_url: str, browser, tmp_path
) -> None:
    app = create_app(make_settings(db_url, worker_in_process="on"))
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
    with serve(app, _free_port()) as base:
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
        report = waiting.value.path().read_text(encoding="utf-8-sig").splitlines()
        assert report[0] == "Baris,NIP,Nama,Hasil,Kolom,Keterangan" and len(report) == 4
        page.get_by_role("button", name="Terapkan 2 perubahan").click()
        page.get_by_text("2 dibuat, 0 diperbarui, 0 tidak berubah, 1 ditolak").wait_for()
        page.screenshot(path=str(tmp_path / "applied.png"), full_page=True)
        page.get_by_role("button", name="Keluar").click()

        register_in_browser(page, base, nip=SITI[0], email=SITI[2])
        page.wait_for_url(re.compile(r"/me/learning$"))  # claimed and logged in
    context.close()
    assert errors == []
