"""After the course, in headless Chromium with mail read back from a real SMTP server: a
learner takes the pre-test, the course, the post-test and the reaction survey, writes an action
plan; 30 days later (the injectable clock moved) is reminded by mail and reports; the supervisor
confirms through the mailed link without an account; HR sees it in the after-course report and
its export, beside five colleagues of the same unit (enough for no group to be hidden)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from app import clock, jobs
from app.clock import ManualClock
from app.main import create_app
from app.security import hash_password
from modules.accounts import grants
from modules.agencies import service as agencies_service
from modules.learning import workflow
from modules.plans.service import REPORT_JOB
from modules.quizzes.grading import best_answer
from tests import excel
from tests.app.test_mail import Inbox, _port, _smtp
from tests.browser.conftest import _free_port, serve
from tests.browser.test_quiz_journey import answer
from tests.conftest import make_settings, make_user
from tests.modules.quizzes.helpers import pass_quizzes
from tests.modules.reports.test_after import _learners

pytestmark = pytest.mark.browser
PASSWORD = "kata-sandi-panjang-sekali-9"
LEARNER_NIP = "199203152019031002"
HR_NIP = "198001012005011901"
START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
SHOTS = Path(os.environ.get("BERAKHLAK_SCREENSHOTS", "/tmp"))
BEHAVIOUR = "Setiap Senin saya mengabari pemohon tentang status berkas kenaikan pangkat."


def _mail(inbox: Inbox, to: str, count: int) -> str:
    """The plain text of the `count`-th mail to `to` (the server's worker sends it)."""
    deadline = time.monotonic() + 20
    while True:
        found = [m for m in inbox.received if m["To"].addresses[0].addr_spec == to]
        if len(found) >= count:
            return found[count - 1].get_body(preferencelist=("plain",)).get_content()
        assert time.monotonic() < deadline, f"no mail number {count} to {to}"
        time.sleep(0.05)


def _log_in(page, base: str, nip: str) -> None:
    page.get_by_label("NIP atau email").fill(nip)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()


def _take(page, base: str, quiz_id: str, questions: dict, likert: str = "4") -> None:
    """Start a quiz from its page, answer every question (the best answer; Likert `likert`),
    hand in and confirm."""
    page.goto(f"{base}/courses/berakhlak/quizzes/{quiz_id}")
    page.get_by_role("button", name="Mulai").click()
    page.wait_for_url(re.compile(r"/attempts/[\w-]+$"))
    fieldsets = page.locator("fieldset.question")
    for i in range(fieldsets.count()):
        qid = fieldsets.nth(i).get_attribute("id")[2:]
        if questions[qid].type == "likert":
            page.check(f'input[name="q-{qid}"][value="{likert}"]')
        else:
            answer(page, questions[qid], best_answer(questions[qid]))
    page.locator("#bk-pending.is-empty").wait_for(state="attached")
    page.get_by_role("button", name="Kumpulkan", exact=True).click()
    page.get_by_role("button", name="Ya, kumpulkan sekarang").click()
    page.wait_for_url(re.compile(r"/(result|completed\?attempt=[\w-]+)$"))


def test_pre_test_to_supervisor_confirmation_to_hr_report(db_url, browser, tmp_path) -> None:
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
            export_dir=tmp_path / "exports",
        )
    )
    course = app.state.catalogue.get("berakhlak")
    questions = {q.id: q for m in course.content.modules for z in m.quizzes for q in z.questions}
    moment = ManualClock(START)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    try:
        with clock.use(moment), serve(app, port) as base:
            with Session(app.state.engine) as s:
                bkn = agencies_service.get_by_code(session=s, code="LB-BKN").id
                learner_id = make_user(
                    s,
                    nip_number=LEARNER_NIP,
                    email="rina@bkn.go.id",
                    name="Rina Kartika",
                    agency_id=bkn,
                    work_unit="Biro SDM",
                    password_hash=hash_password(PASSWORD),
                ).id
                hr = make_user(
                    s,
                    nip_number=HR_NIP,
                    email="hr@bkn.go.id",
                    name="Dewi Pengelola",
                    agency_id=bkn,
                    password_hash=hash_password(PASSWORD),
                )
                grants.grant(session=s, user=hr, role="hr", agency_id=bkn)
            _learners(app, bkn, "Biro SDM", 5, 1)  # five colleagues who completed before

            page = phone.new_page()
            page.goto(f"{base}/login")
            _log_in(page, base, LEARNER_NIP)
            page.wait_for_url(re.compile(r"/me/learning$"))
            # the course opens with its pre-test
            page.get_by_role("link", name=re.compile(r"^Mulai: Pre-test")).click()
            page.wait_for_url(re.compile(r"/quizzes/pre-test$"))
            _take(page, base, "pre-test", questions)
            assert "titik awal" in page.locator("main").inner_text()  # scored, never failed
            # the lessons and the module quizzes (the journey through them has its own test)
            pass_quizzes(app, learner_id, course, kinds=("quiz",))
            with Session(app.state.engine) as s:
                for lesson_id in course.lesson_ids:
                    workflow.lesson_done(
                        session=s, user_id=learner_id, course=course, lesson_id=lesson_id
                    )
            _take(page, base, "post-test", questions)
            assert "lulus" in page.locator("main").inner_text()
            _take(page, base, "survei-reaksi", questions)
            page.get_by_role("link", name="Berikutnya: Rencana Aksi").click()
            page.wait_for_url(re.compile(r"/plan$"))
            page.locator("summary", has_text="Berorientasi Pelayanan").click()  # each value opens
            group = page.get_by_role("group", name="Berorientasi Pelayanan")
            group.get_by_label("Yang akan saya lakukan").fill(BEHAVIOUR)
            group.get_by_label("Bukti yang dapat dilihat").fill(
                "Tidak ada pegawai yang bertanya dua kali tentang status usulannya."
            )
            group.get_by_label("Batas waktu").fill((START + timedelta(days=28)).date().isoformat())
            page.get_by_label("Nama atasan").fill("Bapak Hendra")
            page.get_by_label("Alamat email atasan").fill("hendra@bkn.go.id")
            page.screenshot(path=str(SHOTS / "plan-form-phone.png"), full_page=True)
            page.get_by_role("button", name="Simpan rencana aksi saya").click()
            page.wait_for_url(re.compile(r"/completed$"))
            main = page.locator("main").inner_text()
            assert "Selamat!" in main and "Rencana aksi Anda" in main

            # 30 days on: the worker mails a reminder; the link leads to the report
            moment.set(START + timedelta(days=30, hours=1))
            with Session(app.state.engine) as s:
                jobs.enqueue(s, REPORT_JOB)
                s.commit()
            reminder = _mail(inbox, "rina@bkn.go.id", 1)
            link = re.search(r"(http://127\.0\.0\.1:\d+/courses/berakhlak/plan/report)", reminder)
            assert link, reminder
            page.goto(link.group(1))
            if "/login" in page.url:  # the session of a month ago has ended
                _log_in(page, base, LEARNER_NIP)
            page.wait_for_url(re.compile(r"/plan/report$"))
            page.get_by_role("radio", name="Terlaksana sebagian").check()
            page.get_by_label("Apa yang terjadi (opsional)").fill("Tiga dari empat Senin.")
            page.get_by_role("checkbox", name=re.compile("Kirimkan kepada atasan saya")).check()
            page.get_by_role("button", name="Kirim laporan saya").click()
            page.wait_for_url(re.compile(r"/plan\?reported=mailed$"))

            # the supervisor: no account, the mailed link
            invite = _mail(inbox, "hendra@bkn.go.id", 1)
            link = re.search(r"(http://127\.0\.0\.1:\d+/plans/confirm/\S+)", invite).group(1)
            boss = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
            boss_page = boss.new_page()
            boss_page.goto(link)
            text = boss_page.locator("main").inner_text()
            assert BEHAVIOUR in text and "Tiga dari empat Senin." in text
            assert LEARNER_NIP not in boss_page.content()
            boss_page.get_by_role("radio", name="Ya, saya sudah melihatnya").check()
            boss_page.get_by_label("Komentar untuk Rina Kartika (opsional)").fill(
                "Kabar Senin sudah berjalan."
            )
            boss_page.screenshot(path=str(SHOTS / "plan-supervisor-phone.png"), full_page=True)
            boss_page.get_by_role("button", name="Kirim jawaban saya").click()
            boss_page.wait_for_url(re.compile(r"\?saved=1$"))
            assert "Terima kasih" in boss_page.locator("main").inner_text()
            boss.close()
            page.goto(f"{base}/courses/berakhlak/plan")
            assert "Kabar Senin sudah berjalan." in page.locator("main").inner_text()

            # HR: the unit's figures and the export
            office = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
            hr_page = office.new_page()
            hr_page.goto(f"{base}/login")
            _log_in(hr_page, base, HR_NIP)
            hr_page.wait_for_url(re.compile(r"/me/learning$"))
            hr_page.goto(f"{base}/manage/reports/after?agency={bkn}")
            row = hr_page.locator("table.list tbody tr", has_text="Biro SDM")
            cells = [c.strip() for c in row.locator("td").all_inner_texts()]
            assert cells[0] == "6"  # five colleagues and Rina
            assert cells[5:8] == ["6", "4", "3 (0)"], cells  # plans, reported, confirmed
            assert hr_page.locator("svg.chart").count() == 1
            hr_page.screenshot(path=str(SHOTS / "hr-after-course.png"), full_page=True)
            hr_page.click("button[value='after:csv']")
            hr_page.wait_for_url(f"{base}/manage/reports/exports/*")
            download = hr_page.wait_for_selector("a[href$='/download']", timeout=15000)
            with hr_page.expect_download() as info:
                download.click()
            rows = excel.read(Path(info.value.path()).read_bytes(), "id-ID")
            assert excel.formulas(rows) == []
            body = {r[0]: r for r in rows[1:]}
            assert body["Biro SDM"][1] == 6 and body["Biro SDM"][8:11] == [6, 4, 3]
            office.close()
    finally:
        phone.close()
        smtp.stop()
