"""A live server on a free port, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from app.main import create_app
from tests.conftest import make_settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app, port: int) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on `port` until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


@pytest.fixture
def live_server(db_url: str) -> Iterator[str]:
    """The app served as `berakhlak serve` runs it on SQLite: a worker inside the process."""
    with serve(create_app(make_settings(db_url, worker_in_process="on")), _free_port()) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium") or shutil.os.path.exists(CHROMIUM), (
        "Debian's chromium is required for browser tests (make browser)"
    )
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    tab = context.new_page()
    yield tab
    context.close()


def open_menu(page) -> None:
    """Open the header's "Menu": on a phone the signed-in links sit behind it (where they stand
    in a row, as on a desktop, there is nothing to open)."""
    menu = page.locator("header.site .nav-menu details")
    if menu.is_visible() and menu.get_attribute("open") is None:
        menu.locator("summary").click()


def register_in_browser(
    page,
    base: str,
    *,
    nip: str = "199001012015031001",
    name: str = "Siti Rahmawati",
    email: str = "siti@bkn.go.id",
    agency: str = "Badan Kepegawaian Negara",
    grade: str = "III/a",
) -> None:
    """Fill in and send the registration form by its field ids (works without JavaScript)."""
    from tests.conftest import PASSWORD

    page.goto(f"{base}/register")
    page.fill("#f-nip", nip)
    page.fill("#f-name", name)
    page.fill("#f-email", email)
    page.fill("#f-agency", agency)
    page.fill("#f-work_unit", "Direktorat")
    page.fill("#f-position", "Analis")
    page.select_option("#f-grade", grade)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password_confirm", PASSWORD)
    page.check("#f-privacy")
    page.click("button.button")
