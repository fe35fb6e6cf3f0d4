"""Complete a course in headless Chromium → download the certificate PDF → follow the QR code
printed on it → the verification page says "valid" (Sah)."""

from __future__ import annotations

import re

import pypdfium2
import pytest
import zxingcpp

from app.main import create_app
from modules.courses import service as courses_service
from tests.browser.conftest import _free_port, open_menu, register_in_browser, serve
from tests.conftest import make_settings
from tests.modules.courses.test_content_check import write_course

# the journey that also runs on PostgreSQL (make test-postgres): the worker included
pytestmark = [pytest.mark.browser, pytest.mark.smoke]


def test_complete_download_scan_verify(db_url: str, browser, tmp_path) -> None:
    port = _free_port()
    root = write_course(tmp_path / "content", {})  # a two-lesson course, complete when read
    app = create_app(
        make_settings(
            db_url,
            worker_in_process="on",  # as `berakhlak serve` runs on SQLite
            content_dir=root,
            base_url=f"http://127.0.0.1:{port}",  # printed in the QR code
            certificate_cache_dir=tmp_path / "pdf",
        )
    )
    courses_service.sync_content(engine=app.state.engine, root=root)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="id-ID", accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    with serve(app, port) as base:
        register_in_browser(page, base, name="Dewi Kartika Sari")
        page.wait_for_url(re.compile(r"/me/learning$"))
        page.goto(f"{base}/courses/demo")
        page.get_by_role("link", name="Mulai kursus").click()
        page.get_by_role("button", name="Tandai selesai").click()
        page.locator("#lesson-status p.meta").get_by_text("1 dari 2").wait_for()
        page.get_by_role("link", name="Pelajaran berikutnya").click()
        page.wait_for_url(re.compile(r"/lessons/satu-b$"))
        page.get_by_role("button", name="Tandai selesai").click()
        # the last lesson finishes the course: its own page says so and, once the worker has
        # issued it (the page looks again by itself), offers the certificate
        page.wait_for_url(re.compile(r"/courses/demo/completed$"))
        page.get_by_role("heading", name="Selamat! Anda telah menyelesaikan kursus ini.").wait_for()
        page.get_by_role("link", name="Unduh sertifikat (PDF)").wait_for()
        assert "Nomor sertifikat" in page.content()
        page.screenshot(path=str(tmp_path / "completed.png"), full_page=True)

        open_menu(page)
        page.get_by_role("link", name="Sertifikat", exact=True).click()
        page.wait_for_url(re.compile(r"/certificates$"))
        assert "Kursus Contoh" in page.content()
        page.screenshot(path=str(tmp_path / "certificates.png"))
        with page.expect_download() as waiting:
            page.get_by_role("link", name="Unduh PDF").click()
        pdf_path = waiting.value.path()
        assert waiting.value.suggested_filename.startswith("sertifikat-BA-")

        document = pypdfium2.PdfDocument(str(pdf_path))
        image = document[0].render(scale=3).to_pil()
        document.close()
        found = [r.text for r in zxingcpp.read_barcodes(image)]
        assert len(found) == 1 and found[0].startswith(f"{base}/verify/")

        page.goto(found[0])  # what a phone does with the QR code
        verdict = page.get_by_role("status")
        assert "Sah" in verdict.inner_text()
        assert "Dewi Kartika Sari" in page.content()
        page.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
    context.close()
    assert not errors, errors
