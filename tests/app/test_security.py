"""Platform security: CSRF on every unsafe request, headers, body limit, error pages."""

from __future__ import annotations

from app.main import create_app
from tests.conftest import all_routes, csrf_from, make_settings, register


def test_security_headers_on_every_page(client) -> None:
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "bk_csrf=" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]


def test_no_inline_scripts_or_styles_in_pages(client) -> None:
    register(client)
    for path in (
        "/",
        "/me/learning",
        "/courses/berakhlak",
        "/courses/berakhlak/lessons/pengantar-mengapa-nilai-dasar",
        "/me/profile",
    ):
        html = client.get(path).text
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path


def test_every_unsafe_route_refuses_a_missing_csrf_token(client, app) -> None:
    register(client)
    unsafe = [
        (path, method)
        for method, path in all_routes(app)
        if method in {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert len(unsafe) >= 7
    for path, method in unsafe:
        url = path.replace("{course_id}", "berakhlak").replace(
            "{lesson_id}", "pengantar-mengapa-nilai-dasar"
        )
        response = client.request(method, url, data={"x": "1"}, follow_redirects=False)
        assert response.status_code == 403, (method, url)


def test_csrf_header_is_accepted_for_htmx(client) -> None:
    register(client)
    token = csrf_from(client, "/")
    response = client.post(
        "/courses/berakhlak/lessons/pengantar-mengapa-nilai-dasar/done",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert response.status_code == 200


def test_oversized_body_gets_413_with_the_limit(db_url) -> None:
    from fastapi.testclient import TestClient

    app = create_app(make_settings(db_url, max_body_bytes=2048))
    with TestClient(app) as client:
        response = client.post(
            "/login",
            content=b"x" * 5000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413
        assert "2048" in response.json()["detail"]
    app.state.engine.dispose()


def test_unknown_page_is_a_friendly_404_and_api_gets_problem_json(client) -> None:
    page = client.get("/tidak-ada")
    assert page.status_code == 404 and "<h1>" in page.text
    api = client.get("/api/v1/tidak-ada")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["status"] == 404


def test_healthz_reports_database_and_content_version(client) -> None:
    body = client.get("/healthz").json()
    assert body["database"] == "ok" and body["status"] == "ok"
    course = next(c for c in body["content"] if c["course"] == "berakhlak")
    assert course["serving"].startswith("2.0.0+") and course["status"] == "ok"


def test_htmx_request_with_a_stale_token_asks_for_a_reload(client) -> None:
    register(client)
    response = client.post(
        "/courses/berakhlak/lessons/pengantar-mengapa-nilai-dasar/done",
        headers={"HX-Request": "true", "X-CSRF-Token": "0" * 64},
    )
    assert response.status_code == 403 and response.headers["hx-refresh"] == "true"


def test_csrf_tokens_are_masked_per_page(client) -> None:
    from tests.conftest import CSRF_RE

    first, second = (CSRF_RE.search(client.get("/login").text).group(1) for _ in range(2))
    assert first != second  # a new mask on every page: compression cannot reveal the token
    form = {"identifier": "x", "password": "y"}
    for token in (first, second):
        assert client.post("/login", data={**form, "csrf_token": token}).status_code == 422
    tampered = first[:-1] + ("0" if first[-1] != "0" else "1")
    assert client.post("/login", data={**form, "csrf_token": tampered}).status_code == 403


def test_production_passwords_are_hashed_with_argon2id_at_full_cost() -> None:
    """The suite hashes cheaply (tests/conftest.py); the platform's own hasher does not."""
    import importlib

    from argon2.profiles import RFC_9106_LOW_MEMORY

    from app import security as module

    cheap = module._hasher, module._DUMMY_HASH
    fresh = importlib.reload(module)  # the module as the platform loads it
    try:
        params = fresh._hasher
        assert params.time_cost >= RFC_9106_LOW_MEMORY.time_cost
        assert params.memory_cost >= RFC_9106_LOW_MEMORY.memory_cost
        assert fresh.hash_password("kata-sandi-yang-panjang-1").startswith("$argon2id$")
    finally:
        fresh._hasher, fresh._DUMMY_HASH = cheap
