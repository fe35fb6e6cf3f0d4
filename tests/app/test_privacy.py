"""The privacy notice (UU 27/2022 Pasal 21): public, naming the controller from the settings;
acknowledged at registration (a box that must be ticked) and when claiming an account; asked
again, before any other page, when it changes (a new wording or new controller details);
what a person sends meanwhile is still accepted."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import privacy
from app.main import create_app
from modules.accounts.models import User
from tests.conftest import PASSWORD, csrf_from, login, make_settings, make_user, nip, register


def _app(db_url: str, **settings: object):
    return create_app(make_settings(db_url, **settings))


def test_the_notice_names_the_controller_and_says_what_why_how_long_and_the_rights(
    db_url,
) -> None:
    app = _app(
        db_url,
        privacy_controller="BPSDM Provinsi Contoh",
        privacy_address="Jl. Merdeka 1, Kota Contoh",
        privacy_contact="pdp@bpsdm.contoh.go.id",
        mail_keep_days=60,
    )
    with TestClient(app) as client:
        page = client.get("/privacy")
    assert page.status_code == 200
    for words in (
        "BPSDM Provinsi Contoh",
        "Jl. Merdeka 1",
        "pdp@bpsdm.contoh.go.id",
        "Pasal 20 ayat (2) huruf e",
        "60 hari",  # the mail retention setting, as it is
        "1.825 hari",  # numbers and dates the Indonesian way (Babel, id)
        "Versi 7 Desember 2026",
        "Pasal 46",
        "/me/erase",
        "/me/data",
    ):
        assert words in page.text, words
    assert 'action="/privacy"' not in page.text  # nothing to acknowledge when not logged in
    app.state.engine.dispose()


def test_registration_needs_the_box_ticked_and_records_the_version(db_url) -> None:
    app = _app(db_url)
    with TestClient(app) as client:
        refused = register(client, privacy="")
        assert refused.status_code == 422 and 'id="e-privacy"' in refused.text
        assert "pemberitahuan privasi" in refused.text.lower()
        with Session(app.state.engine) as s:
            assert s.exec(select(User)).all() == []
        assert register(client).status_code == 303
        with Session(app.state.engine) as s:
            user = s.exec(select(User)).one()
            assert user.privacy_version == app.state.privacy_version
            assert user.privacy_acknowledged_at is not None
        assert client.get("/me/learning").status_code == 200
    app.state.engine.dispose()


def test_a_changed_notice_is_shown_before_any_page_and_sends_are_still_accepted(db_url) -> None:
    app = _app(db_url)
    with Session(app.state.engine) as s:
        make_user(s, nip_number=nip(), password_hash=_hash(), privacy_version="2020-01-01.old")
    with TestClient(app) as client:
        assert login(client, nip()).status_code == 303
        gated = client.get("/me/learning", follow_redirects=False)
        assert gated.status_code == 303
        assert gated.headers["location"] == "/privacy?next=/me/learning"
        notice = client.get("/privacy?next=/me/learning")
        assert "telah berubah" in notice.text and 'action="/privacy"' in notice.text
        # the data page and erasure stay open; an htmx fragment sends the page to the notice
        assert client.get("/me/data", follow_redirects=False).status_code == 200
        assert client.get("/me/erase", follow_redirects=False).status_code == 200
        fragment = client.get("/me/learning", headers={"HX-Request": "true"})
        assert fragment.status_code == 204
        assert fragment.headers["hx-redirect"] == "/privacy?next=/me/learning"
        # a form sent meanwhile is accepted (a POST is never gated)
        token = csrf_from(client, "/privacy")
        saved = client.post("/me/reminders", data={"csrf_token": token}, follow_redirects=False)
        assert saved.status_code == 303 and "/privacy" not in saved.headers["location"]
        done = client.post(
            "/privacy",
            data={"csrf_token": token, "next": "/me/learning"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/me/learning"
        assert client.get("/me/learning", follow_redirects=False).status_code == 200
        # an unsafe `next` goes home instead
        again = client.post(
            "/privacy", data={"csrf_token": token, "next": "https://evil.example/"},
            follow_redirects=False,
        )  # fmt: skip
        assert again.headers["location"] == "/me/learning"
    app.state.engine.dispose()


def test_new_controller_details_are_a_new_notice_acknowledged_again(db_url) -> None:
    first = make_settings(db_url)
    second = make_settings(db_url, privacy_contact="dpo@baru.go.id")
    assert privacy.version(first) != privacy.version(second)
    assert privacy.version(first).startswith(privacy.NOTICE_DATE)
    app = create_app(second)
    with Session(app.state.engine) as s:
        make_user(
            s, nip_number=nip(), password_hash=_hash(), privacy_version=privacy.version(first)
        )
    with TestClient(app) as client:
        login(client, nip())
        assert client.get("/me/profile", follow_redirects=False).status_code == 303
    app.state.engine.dispose()


def _hash() -> str:
    from app.security import hash_password

    return hash_password(PASSWORD)


def test_numbers_follow_the_readers_language() -> None:
    from app import i18n

    with i18n.using_locale("id"):
        assert i18n.format_number(1825) == "1.825" and i18n.format_number(87.5) == "87,5"
    with i18n.using_locale("en"):
        assert i18n.format_number(1825) == "1,825" and i18n.format_number(87.5) == "87.5"
