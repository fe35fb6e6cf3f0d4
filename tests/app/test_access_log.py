"""Access logs keep no personal data: query strings (a NIP or an email typed into a search)
become a short hash, and the secret part of a mailed link's path or a certificate's code
becomes `…`. Checked on the lines uvicorn itself writes for real requests."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest
import uvicorn

from app.main import create_app
from app.observability import loggable_path
from tests.browser.conftest import _free_port
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/admin/users?q=199001012015031001", "/admin/users?#"),
        ("/admin/users?q=siti%40bkn.go.id", "/admin/users?#"),
        ("/reset-password/abcDEF123_-xyz", "/reset-password/…"),
        ("/claim/abcDEF123_-xyz", "/claim/…"),
        ("/verify/K7Q2M9XJ4P3A", "/verify/…"),
        ("/certificates/K7Q2M9XJ4P3A.pdf", "/certificates/…"),
        ("/api/unsubscribe/12.0123456789abcdef0123456789abcdef", "/api/unsubscribe/…"),
        ("/courses/berakhlak/lessons/pengantar", "/courses/berakhlak/lessons/pengantar"),
    ],
)
def test_what_an_access_log_keeps_of_a_path(path: str, kept: str) -> None:
    assert loggable_path(path).startswith(kept)
    assert "199001012015031001" not in loggable_path(path) and "bkn.go.id" not in loggable_path(
        path
    )
    assert loggable_path("/x?q=1") == loggable_path("/x?q=1") != loggable_path("/x?q=2")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_uvicorns_access_lines_carry_no_nip_email_or_token(db_url) -> None:
    app = create_app(make_settings(db_url))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", access_log=True)
    server = uvicorn.Server(config)
    lines = _Lines()
    logging.getLogger("uvicorn.access").addHandler(lines)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/livez", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        httpx.get(f"{base}/verify?ref=199001012015031001")
        httpx.get(f"{base}/reset-password/SecretToken0123456789abcdef")
        httpx.get(f"{base}/admin/users?q=siti@bkn.go.id")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        logging.getLogger("uvicorn.access").removeHandler(lines)
        app.state.engine.dispose()
    text = "\n".join(lines.lines)
    assert "/reset-password/…" in text and "/verify?#" in text, text
    for secret in ("199001012015031001", "SecretToken", "siti@bkn.go.id", "siti%40"):
        assert secret not in text
