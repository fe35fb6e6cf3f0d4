"""An HR officer's day in headless Chromium: log in, import a roster (dry run, then confirm),
assign the course to the imported unit, open the report, export CSV, and be refused another
agency's report."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.main import create_app
from app.security import hash_password
from modules.accounts import grants
from modules.accounts.models import User
from modules.agencies import service as agencies_service
from modules.progress.models import Enrollment
from tests import excel
from tests.browser.conftest import _free_port, serve
from tests.conftest import make_settings, make_user

pytestmark = pytest.mark.browser
PASSWORD = "kata-sandi-panjang-sekali-9"
HR_NIP = "198001012005011901"
SHOTS = Path(os.environ.get("BERAKHLAK_SCREENSHOTS", "/tmp"))
ROSTER = (
    "nip;nama;email;instansi;unit_kerja;jabatan;golongan;jenis_pegawai\n"
    "199203152019031002;Rina Kartika;rina@bkn.go.id;LB-BKN;Biro Kepegawaian;Analis SDM;III/b;PNS\n"
    "199108202020122001;Yusuf Hidayat;yusuf@bkn.go.id;LB-BKN;Biro Kepegawaian;Pranata Komputer;III/a;PNS\n"
    "198905102023211003;Maya Sari;maya@bkn.go.id;LB-BKN;Biro Kepegawaian;Penata Layanan;IX;PPPK\n"
)


@pytest.fixture
def hr_server(db_url, tmp_path):
    app = create_app(make_settings(db_url, export_dir=tmp_path / "exports", worker_in_process="on"))
    with Session(app.state.engine) as s:
        bkn = agencies_service.get_by_code(session=s, code="LB-BKN").id
        lan = agencies_service.get_by_code(session=s, code="LB-LAN").id
        user = make_user(
            s,
            nip_number=HR_NIP,
            email="hr@bkn.go.id",
            name="Dewi Pengelola",
            agency_id=bkn,
            password_hash=hash_password(PASSWORD),
        )
        grants.grant(session=s, user=user, role="hr", agency_id=bkn)
    with serve(app, _free_port()) as base:
        yield app, base, lan


def test_hr_imports_assigns_reports_and_exports(hr_server, page, tmp_path: Path) -> None:
    app, base, lan = hr_server
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{base}/login")
    page.fill("input[name=identifier]", HR_NIP)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(f"{base}/me/learning")

    # roster: a dry run first, nothing written; then confirm
    roster = tmp_path / "daftar-pegawai.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    page.goto(f"{base}/manage/roster")
    page.set_input_files("input[name=file]", str(roster))
    page.click("form[action='/manage/roster'] button[type=submit]")
    page.wait_for_url(f"{base}/manage/roster/*")
    assert "Rina Kartika" in page.content() or "199203152019031002" in page.content()
    with Session(app.state.engine) as s:
        assert s.exec(select(User).where(User.name == "Rina Kartika")).first() is None
    page.screenshot(path=str(SHOTS / "hr-roster-dry-run.png"), full_page=True)
    page.click("form[action$='/apply'] button[type=submit]")
    page.wait_for_load_state()
    with Session(app.state.engine) as s:
        imported = s.exec(select(User).where(User.work_unit == "Biro Kepegawaian")).all()
        assert {u.name for u in imported} == {"Rina Kartika", "Yusuf Hidayat", "Maya Sari"}

    # assign the course to the imported unit
    due = date.today() + timedelta(days=30)
    page.goto(f"{base}/manage/assignments")
    page.select_option("select[name=course]", "berakhlak")
    page.fill("input[name=unit]", "Biro Kepegawaian")
    page.fill("input[name=due_on]", due.isoformat())
    page.click("form[action='/manage/assignments'] button[type=submit]")
    page.wait_for_selector(".notice")
    assert "3" in page.inner_text(".notice")
    with Session(app.state.engine) as s:
        dues = s.exec(select(Enrollment.due_on).where(Enrollment.course_id == "berakhlak")).all()
        assert dues == [due, due, due]

    # the report: the unit with its three people, not started
    page.goto(f"{base}/manage/reports")
    row = page.locator("table.list tbody tr", has_text="Biro Kepegawaian")
    assert row.locator("td").nth(1).inner_text() == "3"
    assert page.locator("svg.chart").count() == 2
    page.screenshot(path=str(SHOTS / "hr-report.png"), full_page=True)

    # export CSV: a background job, polled, then downloaded
    page.goto(f"{base}/manage/reports/people?unit=Biro+Kepegawaian")
    page.click("button[value='people:csv']")
    page.wait_for_url(f"{base}/manage/reports/exports/*")
    link = page.wait_for_selector("a[href$='/download']", timeout=15000)
    with page.expect_download() as info:
        link.click()
    # as Excel in Indonesian opens it (tests/excel.py)
    rows = excel.read(Path(info.value.path()).read_bytes(), "id-ID")
    assert excel.formulas(rows) == []
    assert rows[0][0] == "NIP"
    assert sorted(r[1] for r in rows[1:]) == ["Maya Sari", "Rina Kartika", "Yusuf Hidayat"]
    assert {r[7] for r in rows[1:]} == {"Belum mulai"}

    assert errors == []
    # another agency's report is refused (the browser logs the 403 itself)
    response = page.goto(f"{base}/manage/reports?agency={lan}")
    assert response is not None and response.status == 403
    assert "403" in page.content() or "tidak" in page.content().lower()
