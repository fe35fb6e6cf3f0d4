"""Mailed links followed in headless Chromium, the mail read back from a real SMTP server
(aiosmtpd): a new learner confirms their address; then, having forgotten the password, sets a
new one from the login page."""

from __future__ import annotations

import re
import time

import pytest

from app.main import create_app
from tests.app.test_mail import Inbox, _port, _smtp
from tests.browser.conftest import _free_port, open_menu, register_in_browser, serve
from tests.conftest import make_settings

pytestmark = pytest.mark.browser
NEW = "lemari-tumpeng-sepeda-kabut"


def _next_link(inbox: Inbox, count: int, kind: str) -> str:
    """The link of the `count`-th mail (the worker in the server sends it within moments)."""
    deadline = time.monotonic() + 20
    while len(inbox.received) < count:
        assert time.monotonic() < deadline, f"no mail number {count}"
        time.sleep(0.05)
    text = inbox.received[count - 1].get_body(preferencelist=("plain",)).get_content()
    found = re.search(rf"(http://127\.0\.0\.1:\d+/{kind}/[A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


def test_a_learner_confirms_the_address_and_later_resets_the_password(
    db_url, page, tmp_path
) -> None:
    inbox, smtp_port = Inbox(), _port()
    smtp = _smtp(inbox, smtp_port)
    port = _free_port()
    app = create_app(
        make_settings(
            db_url,
            worker_in_process="on",
            email_verification="required",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            base_url=f"http://127.0.0.1:{port}",
        )
    )
    try:
        with serve(app, port) as base:
            register_in_browser(page, base)
            page.wait_for_url(re.compile(r"/me/learning$"))
            page.goto(f"{base}/me/profile")
            assert "belum dikonfirmasi" in page.content()

            page.goto(_next_link(inbox, 1, "verify-email"))
            assert "siti@bkn.go.id" in page.content()
            page.get_by_role("button", name="Konfirmasi alamat ini").click()
            page.wait_for_url(re.compile(r"/me/profile\?saved=verified$"))
            assert "sudah dikonfirmasi" in page.content()
            page.screenshot(path=str(tmp_path / "confirmed.png"))

            open_menu(page)
            page.get_by_role("button", name="Keluar").click()
            page.goto(f"{base}/login")
            page.get_by_role("link", name="Lupa kata sandi?").click()
            page.get_by_label("NIP atau email").fill("199001012015031001")
            page.get_by_role("button", name="Kirim tautan").click()
            page.get_by_text("Jika ada akun dengan NIP atau email ini").wait_for()

            page.goto(_next_link(inbox, 2, "reset-password"))
            page.get_by_label("Kata sandi baru", exact=True).fill(NEW)
            page.get_by_label("Ulangi kata sandi baru").fill(NEW)
            page.get_by_role("button", name="Simpan kata sandi baru").click()
            page.wait_for_url(re.compile(r"/login\?reset=1$"))
            assert "Kata sandi baru sudah tersimpan" in page.content()
            page.get_by_label("NIP atau email").fill("siti@bkn.go.id")
            page.get_by_label("Kata sandi").fill(NEW)
            page.get_by_role("button", name="Masuk").click()
            page.wait_for_url(re.compile(r"/me/learning$"))
    finally:
        smtp.stop()
