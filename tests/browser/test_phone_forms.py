"""On a phone, without JavaScript: registering by typing part of the agency's name (the server
offers the agencies it fits), and a header that stays one row, its links behind "Menu"."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import open_menu, register_in_browser
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _no_script(browser, width: int = 390):
    return browser.new_context(
        java_script_enabled=False, locale="id-ID", viewport={"width": width, "height": 844}
    )


def test_registering_by_typing_part_of_the_agency_name(live_server: str, browser, tmp_path) -> None:
    context = _no_script(browser)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/register")
        page.get_by_label("NIP atau NI PPPK").fill("199001012015031001")
        page.get_by_label("Nama lengkap").fill("Siti Rahmawati")
        page.get_by_label("Email").fill("siti@bandung.go.id")
        page.get_by_label("Instansi").fill("bandung")  # three agencies have the word
        page.get_by_label("Unit kerja").fill("Bidang Pelayanan")
        page.get_by_label("Jabatan").fill("Analis Kebijakan Ahli Muda")
        page.get_by_label("Golongan").select_option("III/b")
        page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
        page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
        page.get_by_role("checkbox", name=re.compile("pemberitahuan privasi")).check()
        page.get_by_role("button", name="Buat akun").click()

        # the same form again: the reason under the box, linked to it, and the three agencies
        box = page.get_by_label("Instansi")
        assert box.input_value() == "bandung"
        assert box.get_attribute("aria-invalid") == "true"
        error = page.locator("#e-agency")
        assert "e-agency" in (box.get_attribute("aria-describedby") or "").split()
        assert "Beberapa instansi cocok" in error.inner_text()
        choices = page.get_by_role("group", name="Pilih instansi Anda").get_by_role("radio")
        assert choices.count() == 3
        # nothing else typed is lost (passwords are never sent back)
        assert page.get_by_label("Unit kerja").input_value() == "Bidang Pelayanan"
        assert page.get_by_label("Golongan").input_value() == "III/b"
        assert page.get_by_role("checkbox", name=re.compile("pemberitahuan privasi")).is_checked()
        assert page.get_by_label("Kata sandi", exact=True).input_value() == ""
        page.screenshot(path=str(tmp_path / "agency-choices.png"), full_page=True)

        page.get_by_label("Pemerintah Kota Bandung").check()
        page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
        page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Buat akun").click()
        page.wait_for_url(re.compile(r"/me/learning$"))
        page.goto(f"{live_server}/me/profile")
        assert page.get_by_label("Instansi").input_value() == "Pemerintah Kota Bandung"
    finally:
        context.close()


def test_a_part_only_one_agency_has_registers_at_once(live_server: str, browser) -> None:
    context = _no_script(browser)
    page = context.new_page()
    try:
        register_in_browser(page, live_server, agency="cimahi")
        page.wait_for_url(re.compile(r"/me/learning$"))
        page.goto(f"{live_server}/me/profile")
        assert page.get_by_label("Instansi").input_value() == "Pemerintah Kota Cimahi"
    finally:
        context.close()


def _one_row(page) -> None:
    """The header is one row: brand and navigation side by side, nothing wider than the screen."""
    header = page.locator("header.site").bounding_box()
    brand = page.locator("header.site .brand").bounding_box()
    nav = page.locator("header.site nav:visible").bounding_box()
    assert header and brand and nav
    assert header["height"] < 72, header
    assert abs((brand["y"] + brand["height"] / 2) - (nav["y"] + nav["height"] / 2)) < 4
    assert nav["x"] > brand["x"] + brand["width"]
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _tall_enough(locator) -> None:
    for i in range(locator.count()):
        box = locator.nth(i).bounding_box()
        assert box and box["height"] >= 44, (locator.nth(i).inner_text(), box)


@pytest.mark.parametrize("width", [360, 390])
def test_the_phone_header_is_one_row(live_server: str, browser, width: int, tmp_path) -> None:
    context = _no_script(browser, width)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/")
        _one_row(page)  # signed out: Kursus, Masuk, Daftar beside the brand
        _tall_enough(page.locator("header.site nav a"))

        register_in_browser(page, live_server)
        page.wait_for_url(re.compile(r"/me/learning$"))
        _one_row(page)  # signed in: the five links behind "Menu"
        assert page.get_by_role("link", name="Sertifikat", exact=True).count() == 0
        menu = page.get_by_role("navigation", name="Utama").locator("summary")
        assert menu.inner_text().strip() == "Menu"
        _tall_enough(menu)
        open_menu(page)
        links = page.locator("header.site .nav-menu li > a, header.site .nav-menu button")
        assert [t.strip() for t in links.all_inner_texts()] == [
            "Kursus",
            "Pembelajaran saya",
            "Sertifikat",
            "Profil",
            "Keluar",
        ]
        _tall_enough(links)
        page.screenshot(path=str(tmp_path / f"menu-{width}.png"))
        page.get_by_role("link", name="Sertifikat", exact=True).click()
        page.wait_for_url(re.compile(r"/certificates$"))
        _one_row(page)
        assert page.locator("header.site .nav-menu details[open]").count() == 0
    finally:
        context.close()


def test_the_desktop_header_keeps_its_links_in_a_row(live_server: str, page) -> None:
    register_in_browser(page, live_server)
    page.wait_for_url(re.compile(r"/me/learning$"))
    page.set_viewport_size({"width": 1280, "height": 800})
    assert not page.locator("header.site .nav-menu").is_visible()
    links = page.locator("header.site .nav-wide li")
    tops = {round((links.nth(i).bounding_box() or {"y": -1})["y"]) for i in range(links.count())}
    assert links.count() == 5 and len(tops) == 1
    page.get_by_role("link", name="Pembelajaran saya").click()  # no menu to open
    page.wait_for_url(re.compile(r"/me/learning$"))
