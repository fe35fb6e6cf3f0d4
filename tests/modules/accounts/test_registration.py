"""Registration: a valid form logs the learner in; each kind of bad input gets its message."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from modules.accounts.models import User
from tests.conftest import PASSWORD, csrf_from, nip, register, registration


def field_error(html: str, name: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    node = soup.find(id=f"e-{name}")
    return node.get_text(strip=True) if node else ""


def test_valid_registration_creates_account_and_logs_in(client, session) -> None:
    response = register(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/me/learning"
    user = session.exec(select(User)).one()
    assert user.nip == nip() and user.employment_type == "PNS"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    page = client.get("/me/learning")
    assert page.status_code == 200 and "Pembelajaran saya" in page.text
    assert client.get("/me/profile").status_code == 200


def test_pppk_registration_takes_pppk_grades(client, session) -> None:
    response = register(client, nip=nip(appointed="202321", sex="2"), grade="IX")
    assert response.status_code == 303
    assert session.exec(select(User)).one().employment_type == "PPPK"


def test_pppk_with_pns_grade_is_refused(client) -> None:
    response = register(client, nip=nip(appointed="202321"), grade="III/a")
    assert response.status_code == 422
    assert "PPPK" in field_error(response.text, "grade")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("12345", "tepat 18 digit"),
        ("19900101201503100x", "hanya berisi angka"),
        ("199002302015031001", "tanggal lahir"),
        ("199001012015131001", "bulan"),
        ("199001012015033001", "Digit 15"),
        ("199001012015031000", "001"),
        ("199001012005031001", "18 tahun"),
    ],
)
def test_each_nip_rule_is_shown_next_to_the_field(client, value: str, fragment: str) -> None:
    response = register(client, nip=value)
    assert response.status_code == 422
    assert fragment.lower() in field_error(response.text, "nip").lower()


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("pendek", "12"),
        ("aaaaaaaaaaaaaa", "mudah ditebak"),
        ("password1234", "mudah ditebak"),
        ("199001012015031001xx", "NIP"),
        # a keyboard row, the platform's name and a year, Indonesian words and dates
        ("qwertyuiop123", "mudah ditebak"),
        ("berakhlak2024!", "mudah ditebak"),
        ("Berakhlak2024!", "mudah ditebak"),
        ("bismillah2024", "mudah ditebak"),
        ("merdeka17081945", "mudah ditebak"),
        ("sayangku12345", "mudah ditebak"),
        # the person: their birth date from the NIP, their name, their agency
        ("Siti19900101!", "email"),  # the start of siti@bkn.go.id
        ("rahmawati1990!!", "mudah ditebak"),
        ("Rahmawati-19900101", "mudah ditebak"),
        ("kepegawaian-negara1", "mudah ditebak"),
    ],
)
def test_weak_passwords_are_refused(client, password: str, fragment: str) -> None:
    response = register(client, password=password, password_confirm=password)
    assert response.status_code == 422
    assert fragment.lower() in field_error(response.text, "password").lower()


@pytest.mark.parametrize(
    "password", ["kata-sandi-yang-panjang-1", "tumpeng-kabut-sepeda-lemari", "Kuat-Sandi-2026!x"]
)
def test_strong_passwords_are_accepted(client, password: str) -> None:
    assert register(client, password=password, password_confirm=password).status_code == 303


def test_password_confirmation_must_match(client) -> None:
    response = register(client, password_confirm=PASSWORD + "x")
    assert response.status_code == 422
    assert field_error(response.text, "password_confirm")


def test_duplicate_nip_and_email_are_refused(client, session) -> None:
    assert register(client).status_code == 303
    client.cookies.clear()
    again = register(client, email="lain@bkn.go.id")
    assert again.status_code == 422
    assert "NIP" in field_error(again.text, "nip")
    other_nip = register(client, nip=nip(serial="002"), email="SITI@bkn.go.id")
    assert other_nip.status_code == 422
    assert "email" in field_error(other_nip.text, "email").lower()
    assert len(session.exec(select(User)).all()) == 1


def test_missing_fields_and_unknown_agency(client) -> None:
    response = register(
        client, name="  ", work_unit="", agency="Dinas Khayalan", email="bukan-email"
    )
    assert response.status_code == 422
    for name in ("name", "work_unit", "agency", "email"):
        assert field_error(response.text, name), name


def test_form_keeps_what_was_typed_but_never_the_password(client) -> None:
    response = register(client, nip="123")
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.find("input", {"name": "name"})["value"] == "Siti Rahmawati"
    assert not soup.find("input", {"name": "password"}).get("value")


def test_registration_without_csrf_token_is_refused(client, session) -> None:
    client.get("/register")
    response = client.post("/register", data=registration(client), follow_redirects=False)
    assert response.status_code == 403
    assert session.exec(select(User)).all() == []


def test_registration_with_forged_csrf_token_is_refused(client) -> None:
    form = registration(client)
    form["csrf_token"] = "0" * 64
    assert client.post("/register", data=form).status_code == 403


def test_csrf_token_of_another_visitor_is_refused(app, client) -> None:
    from fastapi.testclient import TestClient

    other = TestClient(app)
    stolen = csrf_from(other, "/register")
    form = registration(client)
    form["csrf_token"] = stolen
    client.get("/register")
    assert client.post("/register", data=form).status_code == 403


@pytest.mark.parametrize("field", ["name", "work_unit", "position", "email"])
def test_control_characters_are_refused_not_a_500(client, field: str) -> None:
    response = register(client, **{field: "Siti\x00Rahma"})
    assert response.status_code == 422
    assert field_error(response.text, field)


def test_registrations_from_one_address_are_limited(db_url) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(db_url, registrations_per_hour=2))
    with TestClient(app) as client:
        assert register(client, nip="12").status_code == 422
        assert register(client, nip="34").status_code == 422
        blocked = register(client)
        assert blocked.status_code == 429
        assert "jaringan Anda" in blocked.text
    app.state.engine.dispose()


def test_missing_grade_is_reported_in_the_same_round_as_a_bad_nip(client) -> None:
    response = register(client, nip="123", grade="")
    assert field_error(response.text, "nip") and field_error(response.text, "grade")


def test_agencies_are_offered_in_order_of_kind(client) -> None:
    # the agency box suggests every active agency (a <datalist>: no optgroups), ministries
    # first, then institutions, provinces, regencies and cities, as the old <select> grouped them
    soup = BeautifulSoup(client.get("/register").text, "html.parser")
    box = soup.find(id="f-agency")
    names = [o["value"] for o in soup.select(f"datalist#{box['list']} option")]
    assert len(names) > 600
    order = [
        "Kementerian Agama",
        "Badan Kepegawaian Negara",
        "Pemerintah Provinsi Jawa Barat",
        "Pemerintah Kabupaten Bandung",
        "Pemerintah Kota Bandung",
    ]
    assert sorted(order, key=names.index) == order
