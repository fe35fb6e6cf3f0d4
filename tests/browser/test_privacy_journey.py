"""A learner's rights in headless Chromium: read their data and download it as JSON, then ask
for their account to be erased; an administrator approves in their own browser; the worker
erases; the learner is logged out for good and their certificate's verification page shows
no personal data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app import clock
from app.main import create_app
from app.security import hash_password
from modules.accounts import grants
from modules.accounts.models import User
from modules.certificates.models import Certificate
from modules.courses import service as courses_service
from tests.browser.conftest import _free_port, register_in_browser, serve
from tests.conftest import PASSWORD, make_settings, make_user
from tests.modules.courses.test_content_check import write_course

pytestmark = pytest.mark.browser
ADMIN_NIP = "198001012005011002"


def test_a_learner_downloads_their_data_and_erases_their_account(
    db_url: str, browser, tmp_path
) -> None:
    port = _free_port()
    root = write_course(tmp_path / "content", {})
    app = create_app(
        make_settings(
            db_url,
            worker_in_process="on",
            worker_poll_seconds=0.2,
            content_dir=root,
            base_url=f"http://127.0.0.1:{port}",
            certificate_cache_dir=tmp_path / "pdf",
        )
    )
    courses_service.sync_content(engine=app.state.engine, root=root)
    with Session(app.state.engine) as s:
        admin = make_user(
            s, nip_number=ADMIN_NIP, email="admin@bkn.go.id", password_hash=hash_password(PASSWORD)
        )
        grants.grant(session=s, user=admin, role="admin")
    learner = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="id-ID", accept_downloads=True
    )
    page = learner.new_page()
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
        page.get_by_role("button", name="Tandai selesai").click()
        page.wait_for_url(re.compile(r"/courses/demo/completed$"))
        certificate = _wait_for_certificate(app)

        # read the data, then download it
        page.goto(f"{base}/me/profile")
        page.get_by_role("link", name="Data Anda", exact=True).click()
        page.wait_for_url(re.compile(r"/me/data$"))
        page.get_by_role("heading", name="Siapa yang melihat atau mengubah data Anda").wait_for()
        assert certificate.number in page.content() and "Dewi Kartika Sari" in page.content()
        page.screenshot(path=str(tmp_path / "data.png"), full_page=True)
        with page.expect_download() as waiting:
            page.get_by_role("link", name="Unduh data saya (JSON)").click()
        document = json.loads(Path(waiting.value.path()).read_text(encoding="utf-8"))
        assert document["account"]["name"] == "Dewi Kartika Sari"
        assert document["certificates"]["certificates"][0]["number"] == certificate.number
        assert "password_hash" not in json.dumps(document)

        # ask for erasure: the password is checked, the box must be ticked
        page.goto(f"{base}/me/profile")
        page.get_by_role("link", name="Hapus akun saya").click()
        page.get_by_role("heading", name="Yang dihapus").wait_for()
        page.get_by_label("Kata sandi Anda").fill(PASSWORD)
        page.get_by_role("button", name="Minta penghapusan").click()
        page.get_by_text("Centang kotak untuk menegaskan").wait_for()
        page.get_by_label("Kata sandi Anda").fill(PASSWORD)
        page.get_by_role("checkbox", name=re.compile("meminta akun saya dihapus")).check()
        page.get_by_role("button", name="Minta penghapusan").click()
        page.get_by_text("menunggu keputusan").wait_for()
        page.screenshot(path=str(tmp_path / "erase-requested.png"), full_page=True)

        # an administrator approves, in their own browser
        office = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
        desk = office.new_page()
        desk.goto(f"{base}/login")
        desk.get_by_label("NIP atau email").fill(ADMIN_NIP)
        desk.get_by_label("Kata sandi").fill(PASSWORD)
        desk.get_by_role("button", name="Masuk").click()
        desk.wait_for_url(re.compile(r"/me/learning$"))
        desk.goto(f"{base}/manage/erasures")
        assert "Dewi Kartika Sari" in desk.content()
        desk.screenshot(path=str(tmp_path / "erasures.png"), full_page=True)
        desk.get_by_role("button", name="Setujui: hapus akun").click()
        desk.get_by_text("Keputusan disimpan.").wait_for()
        office.close()
        _wait_for_erasure(app)

        # the learner is logged out for good
        page.goto(f"{base}/me/learning")
        page.wait_for_url(re.compile(r"/login"))
        page.get_by_label("NIP atau email").fill("199001012015031001")
        page.get_by_label("Kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        assert "/login" in page.url
        # the certificate still verifies, with no personal data
        page.goto(f"{base}/verify/{certificate.code}")
        assert "Sah" in page.get_by_role("status").inner_text()
        assert "dihapus atas permintaannya" in page.content()
        assert "Dewi" not in page.content()
        page.screenshot(path=str(tmp_path / "verify-erased.png"), full_page=True)
    learner.close()
    # the only failed loads are the two refusals made on purpose (the unticked box, the login)
    assert errors == ["Failed to load resource: the server responded with a status of 422 "
                      "(Unprocessable Entity)"] * 2, errors  # fmt: skip


def _wait_for_certificate(app) -> Certificate:
    deadline = clock.utcnow().timestamp() + 30
    while clock.utcnow().timestamp() < deadline:
        with Session(app.state.engine) as s:
            found = s.exec(select(Certificate)).first()
            if found is not None:
                s.expunge(found)
                return found
        _pause()
    raise AssertionError("the certificate was not issued")


def _wait_for_erasure(app) -> None:
    deadline = clock.utcnow().timestamp() + 30
    while clock.utcnow().timestamp() < deadline:
        with Session(app.state.engine) as s:
            if s.exec(select(User).where(User.erased_at.is_not(None))).first():
                return
        _pause()
    raise AssertionError("the worker did not erase the account")


def _pause() -> None:
    import threading

    threading.Event().wait(0.1)  # the in-process worker polls; give it the thread
