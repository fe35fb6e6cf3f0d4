"""The agency box of the registration and profile forms, without JavaScript: the server turns
the typed name into an agency, and text that names none exactly comes back with the reason, the
matching agencies to choose from and everything else the person typed."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from modules.accounts.models import User
from modules.agencies import service as agencies_service
from tests.conftest import csrf_from, register, registration


def _agency(session, code: str) -> int:
    found = agencies_service.get_by_code(session=session, code=code)
    assert found and found.id
    return found.id


def _registered_agency(session) -> str:
    user = session.exec(select(User)).one()
    agency = agencies_service.get(session=session, agency_id=user.agency_id)
    assert agency
    return agency.code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Pemerintah Kota Bandung", "K3273"),  # picked from the suggestions: the exact name
        ("kab. bandung barat", "K3217"),
        ("K3277", "K3277"),  # the code
        ("BKN", "LB-BKN"),
        ("cimahi", "K3277"),  # the only name with that word
    ],
)
def test_a_name_code_or_unique_part_registers(client, session, typed: str, code: str) -> None:
    response = register(client, agency=typed)
    assert response.status_code == 303, response.text
    assert _registered_agency(session) == code


def test_an_ambiguous_name_offers_the_matches_and_keeps_the_form(client, session) -> None:
    response = register(client, agency="Bandung", work_unit="Bidang Pelayanan", grade="III/c")
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    box = soup.find(id="f-agency")
    assert box["value"] == "Bandung" and box["aria-invalid"] == "true"
    assert "e-agency" in box["aria-describedby"].split()
    error = soup.find(id="e-agency").get_text(strip=True)
    assert (
        error == "Beberapa instansi cocok dengan yang Anda ketik. Pilih instansi Anda di bawah ini."
    )
    choices = soup.select("fieldset.agency-choices input[type=radio][name=agency_id]")
    names = [c.find_parent("label").get_text(strip=True) for c in choices]
    assert names == [
        "Pemerintah Kabupaten Bandung",
        "Pemerintah Kabupaten Bandung Barat",
        "Pemerintah Kota Bandung",
    ]
    assert not any(c.has_attr("checked") for c in choices)
    assert soup.select_one("fieldset.agency-choices legend").get_text() == "Pilih instansi Anda"
    # nothing else typed is lost (passwords are never sent back)
    assert soup.find(id="f-name")["value"] == "Siti Rahmawati"
    assert soup.find(id="f-work_unit")["value"] == "Bidang Pelayanan"
    assert soup.select_one("#f-grade option[selected]")["value"] == "III/c"
    assert soup.find(id="f-privacy").has_attr("checked")
    assert session.exec(select(User)).all() == []

    # choosing one of them (the box still says "Bandung") registers with it
    kota = _agency(session, "K3273")
    form = registration(client, agency="Bandung", agency_id=str(kota))
    form["csrf_token"] = csrf_from(client, "/register")
    assert client.post("/register", data=form, follow_redirects=False).status_code == 303
    assert _registered_agency(session) == "K3273"


def test_an_unknown_name_says_so_and_offers_nothing(client) -> None:
    response = register(client, agency="Dinas Khayalan Sekali")
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.find(id="f-agency")["value"] == "Dinas Khayalan Sekali"
    assert (
        soup.find(id="e-agency")
        .get_text(strip=True)
        .startswith("Tidak ada instansi yang cocok dengan yang Anda ketik.")
    )
    assert not soup.select("fieldset.agency-choices")


def test_a_misspelt_name_offers_the_names_spelt_like_it(client) -> None:
    response = register(client, agency="Kota Bandug")
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert (
        soup.find(id="e-agency")
        .get_text(strip=True)
        .startswith("Tidak ada instansi dengan nama itu.")
    )
    names = [label.get_text(strip=True) for label in soup.select("fieldset.agency-choices label")]
    assert "Pemerintah Kota Bandung" in names


def test_too_broad_a_name_asks_for_more_of_it(client) -> None:
    response = register(client, agency="Kabupaten")
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.find(id="e-agency").get_text(strip=True).startswith("Terlalu banyak instansi")
    assert not soup.select("fieldset.agency-choices")


def test_a_resolved_name_is_shown_in_full_when_another_field_is_wrong(client) -> None:
    response = register(client, agency="cimahi", nip="123")
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.find(id="f-agency")["value"] == "Pemerintah Kota Cimahi"
    assert soup.find(id="e-agency").get_text(strip=True) == ""
    assert not soup.select("fieldset.agency-choices")


def test_scripts_may_still_send_an_agency_id(client, session) -> None:
    unknown = register(client, agency="", agency_id="999999")
    assert unknown.status_code == 422
    soup = BeautifulSoup(unknown.text, "html.parser")
    assert soup.find(id="e-agency").get_text(strip=True) == "Pilih instansi Anda dari daftar."
    form = registration(client, agency_id=str(_agency(session, "LB-LAN")))
    del form["agency"]
    form["csrf_token"] = csrf_from(client, "/register")
    assert client.post("/register", data=form, follow_redirects=False).status_code == 303
    assert _registered_agency(session) == "LB-LAN"


def test_the_box_is_labelled_and_suggests_every_agency(client) -> None:
    soup = BeautifulSoup(client.get("/register").text, "html.parser")
    box = soup.find(id="f-agency")
    assert soup.find("label", attrs={"for": "f-agency"}).get_text() == "Instansi"
    assert box["aria-describedby"].split() == ["h-agency", "e-agency"]
    assert box.has_attr("required") and not box.has_attr("aria-invalid")
    assert len(soup.select(f"datalist#{box['list']} option")) > 600
    assert soup.find(id="f-agency_id") is None  # no <select> of 600 options any more


def test_profile_shows_the_agency_by_name_and_resolves_what_is_typed(client, session) -> None:
    register(client)
    page = BeautifulSoup(client.get("/me/profile").text, "html.parser")
    assert page.find(id="f-agency")["value"] == "Badan Kepegawaian Negara"
    form = {
        "csrf_token": csrf_from(client, "/me/profile"),
        "name": "Siti Rahmawati",
        "email": "siti@bkn.go.id",
        "agency": "bandung",
        "work_unit": "Bidang Pelayanan",
        "position": "Analis",
        "grade": "III/a",
    }
    ambiguous = client.post("/me/profile", data=form)
    assert ambiguous.status_code == 422
    soup = BeautifulSoup(ambiguous.text, "html.parser")
    assert len(soup.select("fieldset.agency-choices input[name=agency_id]")) == 3
    assert soup.find(id="f-work_unit")["value"] == "Bidang Pelayanan"
    form["agency"] = "Kota Bandung"
    saved = client.post("/me/profile", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert _registered_agency(session) == "K3273"
    page = BeautifulSoup(client.get("/me/profile").text, "html.parser")
    assert page.find(id="f-agency")["value"] == "Pemerintah Kota Bandung"
