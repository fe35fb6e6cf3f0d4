"""Login, throttling, logout, sessions across restarts, profile and password changes."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.main import create_app
from app.security import SESSION_COOKIE
from modules.accounts.models import AuthSession
from tests.conftest import PASSWORD, csrf_from, login, make_settings, nip, register


def _logged_out(client: TestClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})


def test_login_with_nip_or_email_then_logout(client, session) -> None:
    register(client)
    _logged_out(client)
    assert client.get("/me/learning", follow_redirects=False).status_code == 303
    response = login(client, "19900101 201503 1 001")  # spaces as people type them
    assert response.status_code == 303 and response.headers["location"] == "/me/learning"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    _logged_out(client)
    assert login(client, "SITI@bkn.go.id").status_code == 303
    assert client.get("/me/learning").status_code == 200
    _logged_out(client)
    assert session.exec(select(AuthSession)).all() == []
    assert (
        client.get("/me/learning", follow_redirects=False).headers["location"].startswith("/login")
    )


def test_wrong_password_and_unknown_account_get_the_same_answer(client) -> None:
    register(client)
    _logged_out(client)
    wrong = login(client, nip(), "salah-kata-sandi-123")
    unknown = login(client, nip(serial="999"), "salah-kata-sandi-123")
    assert wrong.status_code == unknown.status_code == 422
    assert "salah" in wrong.text.lower() or "tidak benar" in wrong.text.lower()


def test_empty_login_form(client) -> None:
    response = client.post("/login", data={"csrf_token": csrf_from(client), "identifier": ""})
    assert response.status_code == 422


def test_login_is_throttled_after_repeated_failures(client, settings) -> None:
    register(client)
    _logged_out(client)
    for _ in range(settings.login_max_failures):
        assert login(client, nip(), "salah-kata-sandi-123").status_code == 422
    locked = login(client, nip(), PASSWORD)  # even the right password waits out the lockout
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == settings.login_lockout_minutes * 60


def test_nip_and_email_share_one_lockout_counter(client, settings) -> None:
    """Typing the email instead of the NIP gives no second set of guesses."""
    register(client)
    _logged_out(client)
    tries = settings.login_max_failures
    for i in range(tries):
        identifier = nip() if i % 2 else "siti@bkn.go.id"
        assert login(client, identifier, "salah-kata-sandi-123").status_code == 422
    assert login(client, "siti@bkn.go.id", PASSWORD).status_code == 429
    assert login(client, nip(), PASSWORD).status_code == 429


def test_next_parameter_only_redirects_within_the_site(client) -> None:
    register(client)
    _logged_out(client)
    token = csrf_from(client)
    response = client.post(
        "/login",
        data={
            "identifier": nip(),
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/me/learning"


def test_session_survives_a_restart_and_works_in_another_process(client, settings) -> None:
    register(client)
    token = client.cookies.get(SESSION_COOKIE)
    client.app.state.engine.dispose()
    restarted = create_app(make_settings(settings.database_url))  # a new process, same database
    with TestClient(restarted) as other:
        other.cookies.set(SESSION_COOKIE, token)
        assert other.get("/me/profile").status_code == 200
    restarted.state.engine.dispose()


def test_forged_session_cookie_is_ignored(client) -> None:
    client.cookies.set(SESSION_COOKIE, "not-a-session")
    assert client.get("/me/profile", follow_redirects=False).status_code == 303


def test_profile_edit_and_bad_input(client) -> None:
    register(client)
    token = csrf_from(client, "/me/profile")
    form = {
        "csrf_token": token,
        "name": "Siti R.",
        "email": "siti.r@bkn.go.id",
        "agency": "Instansi yang tidak ada",
        "work_unit": "",
        "position": "Analis",
        "grade": "IX",
    }
    bad = client.post("/me/profile", data=form)
    assert bad.status_code == 422
    assert (
        'id="e-agency"' in bad.text and 'aria-invalid="true" aria-describedby="h-agency' in bad.text
    )
    form.update(agency="Badan Kepegawaian Negara", work_unit="Biro SDM", grade="III/b")
    ok = client.post("/me/profile", data=form, follow_redirects=False)
    assert ok.status_code == 303
    assert "Siti R." in client.get("/me/profile").text


def test_password_change_logs_out_other_sessions(client, app) -> None:
    register(client)
    other = TestClient(app)
    assert login(other, nip()).status_code == 303
    token = csrf_from(client, "/me/profile")
    weak = client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "short",
            "new_password_confirm": "short",
        },
    )
    assert weak.status_code == 422
    new = "kata-sandi-baru-yang-kuat"
    changed = client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": new,
            "new_password_confirm": new,
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get("/me/profile").status_code == 200
    assert other.get("/me/profile", follow_redirects=False).status_code == 303
    _logged_out(client)
    assert login(client, nip(), new).status_code == 303


def test_learner_downloads_their_own_data(client) -> None:
    register(client)
    token = csrf_from(client, "/")
    client.post(
        "/courses/berakhlak/lessons/pengantar-mengapa-nilai-dasar/done", data={"csrf_token": token}
    )
    response = client.get("/me/data.json")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    data = response.json()
    assert data["account"]["nip"] == nip() and data["account"]["agency"]["code"] == "LB-BKN"
    assert "password_hash" not in response.text and "$argon2" not in response.text
    done = data["learning"]["lessons_done"]
    assert done[0]["lesson"] == "pengantar-mengapa-nilai-dasar"
    assert done[0]["content_version"].startswith("2.0.0+")
    assert data["learning"]["enrollments"][0]["course"] == "berakhlak"


def test_concurrent_wrong_passwords_cannot_outrun_the_lockout(client, app, settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sqlmodel import Session

    from modules.accounts import service

    register(client)

    def guess(i: int) -> bool:
        with Session(app.state.engine) as session:
            result = service.authenticate(
                session=session,
                identifier=nip(),
                password=f"tebakan-salah-{i:04d}",
                address="10.0.0.9",
                max_failures=settings.login_max_failures,
                lockout_minutes=settings.login_lockout_minutes,
            )
            return not result.locked

    with ThreadPoolExecutor(max_workers=8) as pool:
        checked = sum(pool.map(guess, range(24)))
    assert checked <= settings.login_max_failures


@pytest.mark.parametrize("identifier", ["x" * 400, "1990\x00", "siti\x00@bkn.go.id"])
def test_odd_login_identifiers_are_a_plain_refusal(client, identifier: str) -> None:
    response = client.post(
        "/login",
        data={"identifier": identifier, "password": "x" * 12, "csrf_token": csrf_from(client)},
    )
    assert response.status_code == 422


def test_an_active_session_slides_in_the_database_and_the_browser(client, app) -> None:
    from datetime import timedelta

    from sqlmodel import Session

    from app.clock import utcnow

    register(client)
    with Session(app.state.engine) as session:
        row = session.exec(select(AuthSession)).one()
        row.last_seen_at = utcnow() - timedelta(hours=2)
        row.expires_at = utcnow() + timedelta(days=1)
        session.add(row)
        session.commit()
    response = client.get("/me/learning")
    assert f"Max-Age={14 * 86400}" in response.headers["set-cookie"]
    with Session(app.state.engine) as session:
        row = session.exec(select(AuthSession)).one()
        from app.clock import as_utc

        assert as_utc(row.expires_at) > utcnow() + timedelta(days=13)
    assert "set-cookie" not in client.get("/me/learning").headers or "bk_session" not in client.get(
        "/me/learning"
    ).headers.get("set-cookie", "")


def test_a_malformed_foreign_cookie_does_not_block_forms(client) -> None:
    client.cookies.set("tracker", 'a "b')
    assert register(client).status_code == 303


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "https://evil.example"])
def test_next_with_control_characters_or_other_sites_is_ignored(client, target: str) -> None:
    register(client)
    _logged_out(client)
    response = client.post(
        "/login",
        data={
            "identifier": nip(),
            "password": PASSWORD,
            "csrf_token": csrf_from(client),
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/me/learning"


def test_a_stranger_cannot_lock_a_colleague_out_with_a_few_tries(client, app, settings) -> None:
    from sqlmodel import Session

    from modules.accounts import service

    register(client)
    with Session(app.state.engine) as session:
        for _ in range(settings.login_max_failures + 1):
            service.authenticate(
                session=session,
                identifier=nip(),
                password="salah-salah-salah",
                address="203.0.113.9",
                max_failures=settings.login_max_failures,
                lockout_minutes=settings.login_lockout_minutes,
            )
        from_office = service.authenticate(
            session=session,
            identifier=nip(),
            password=PASSWORD,
            address="198.51.100.7",
            max_failures=settings.login_max_failures,
            lockout_minutes=settings.login_lockout_minutes,
        )
    assert from_office.user is not None and not from_office.locked


def test_moving_oneself_to_another_agency_or_unit_is_audited(client, app) -> None:
    from sqlmodel import Session, select

    from modules.audit.models import AuditEvent
    from tests.conftest import agency_id

    register(client)
    token = csrf_from(client, "/me/profile")
    form = {
        "csrf_token": token,
        "name": "Siti Rahmawati",
        "email": "siti@bkn.go.id",
        "agency": "Badan Kepegawaian Negara",
        "work_unit": "Direktorat Pengembangan",
        "position": "Analis Kebijakan",
        "grade": "III/a",
    }
    assert client.post("/me/profile", data=form, follow_redirects=False).status_code == 303
    lan = agency_id(client, "LB-LAN")
    form.update(agency="Lembaga Administrasi Negara", work_unit="Pusat Pembinaan")
    assert client.post("/me/profile", data=form, follow_redirects=False).status_code == 303
    with Session(app.state.engine) as session:
        (moved,) = session.exec(select(AuditEvent).where(AuditEvent.action == "account.move")).all()
    detail = json.loads(moved.detail)
    assert detail["to"] == {"agency_id": lan, "work_unit": "Pusat Pembinaan"}
    assert detail["from"]["work_unit"] == "Direktorat Pengembangan"
    assert moved.subject_id == nip()
