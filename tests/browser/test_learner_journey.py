"""The first real journey, in headless Chromium: register → read → mark done → log out → log in →
progress and resume point are still there."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import open_menu, register_in_browser
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_learner_journey(live_server: str, page, tmp_path) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Daftar").first.click()

    page.get_by_label("NIP atau NI PPPK").fill("19900101 201503 1 001")
    page.get_by_label("Nama lengkap").fill("Siti Rahmawati")
    page.get_by_label("Email").fill("siti@bkn.go.id")
    page.get_by_label("Instansi").fill("Badan Kepegawaian Negara")
    page.get_by_label("Unit kerja").fill("Direktorat Pengembangan Kompetensi")
    page.get_by_label("Jabatan").fill("Analis SDM Aparatur Ahli Pertama")
    page.get_by_label("Golongan").select_option("III/a")
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
    page.get_by_role("checkbox", name=re.compile("pemberitahuan privasi")).check()
    page.get_by_role("button", name="Buat akun").click()
    page.wait_for_url(re.compile(r"/me/learning$"))

    open_menu(page)
    page.get_by_role("link", name="Kursus", exact=True).click()
    page.get_by_role("link", name="Internalisasi Nilai Dasar ASN BerAKHLAK").click()
    page.get_by_role("link", name="Mulai kursus").click()
    page.wait_for_url(re.compile(r"/quizzes/pre-test$"))  # the course opens with its pre-test
    page.go_back()
    page.locator('a[href$="/lessons/pengantar-mengapa-nilai-dasar"]').first.click()
    page.wait_for_url(re.compile(r"/lessons/pengantar-mengapa-nilai-dasar$"))
    assert page.locator("h1").inner_text().strip()
    page.screenshot(path=str(tmp_path / "lesson.png"), full_page=False)

    page.get_by_role("button", name="Tandai selesai").click()  # htmx swaps the status in place
    status = page.locator("#lesson-status")
    status.get_by_text("Anda telah menandai pelajaran ini selesai").wait_for()
    assert "1 dari 39" in status.inner_text()
    page.get_by_role("link", name="Pelajaran berikutnya").click()
    page.wait_for_url(re.compile(r"/lessons/pengantar-landasan-hukum$"))

    open_menu(page)
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url(f"{live_server}/")
    page.get_by_role("link", name="Masuk").first.click()
    page.get_by_label("NIP atau email").fill("199001012015031001")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/me/learning$"))

    assert "1 dari 39 pelajaran selesai" in page.content()
    resume = page.get_by_role("link", name=re.compile("^Lanjutkan: "))
    assert "Landasan Hukum" in resume.inner_text()
    resume.click()
    page.wait_for_url(re.compile(r"/lessons/pengantar-landasan-hukum$"))
    page.goto(f"{live_server}/courses/berakhlak")
    done = page.locator("ol.lessons li.is-done")
    assert done.count() == 1
    assert not errors, errors


def test_mark_done_works_without_javascript(live_server: str, browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    register_in_browser(
        page,
        live_server,
        nip="199203182022212004",
        name="Rina Wulandari",
        email="rina@bandung.go.id",
        agency="Pemerintah Kota Bandung",
        grade="IX",
    )
    page.goto(f"{live_server}/courses/berakhlak/lessons/pengantar-mengapa-nilai-dasar")
    page.click("#lesson-status button.button")
    page.wait_for_url(re.compile(r"/lessons/pengantar-landasan-hukum\?marked="))
    assert "telah ditandai selesai" in page.locator(".notice").inner_text()
    page.goto(f"{live_server}/courses/berakhlak")
    assert page.locator("ol.lessons li.is-done").count() == 1
    context.close()
