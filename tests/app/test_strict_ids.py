"""Ids out of the databases' range (25 digits), negative or zero, in every route with a path
parameter and in the id query parameters, answer 404 or 422, never a server error."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.security import hash_password
from modules.accounts import grants
from tests.conftest import all_routes, csrf_from, login, make_user

ADMIN, PASSWORD = "198001012005011003", "kata-sandi-panjang-sekali-9"
PARAM = re.compile(r"\{[a-z_]+(?::path)?\}")
QUERIES = (
    "/admin/audit?before={id}",
    "/manage/reports?agency={id}",
    "/manage/reports/people?agency={id}",
    "/manage/reports/jp?agency={id}",
    "/manage/certificates?agency={id}",
    "/manage/invitations?agency={id}",
)


@pytest.fixture
def admin(app) -> TestClient:
    with Session(app.state.engine) as session:
        user = make_user(
            session,
            nip_number=ADMIN,
            email="admin@bkn.go.id",
            password_hash=hash_password(PASSWORD),
        )
        grants.grant(session=session, user=user, role="admin", agency_id=None)
    client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
    assert login(client, ADMIN, PASSWORD).status_code == 303
    return client


@pytest.mark.parametrize("value", ["9" * 25, "-1", "0", "１２"])
def test_no_id_makes_a_server_error(app, admin: TestClient, value: str) -> None:
    token = csrf_from(admin, "/")
    answers = {}
    for method, path in all_routes(app):
        if method not in ("GET", "POST") or not PARAM.search(path) or path.startswith("/static"):
            continue
        url = PARAM.sub(value, path)
        response = (
            admin.get(url, follow_redirects=False)
            if method == "GET"
            else admin.post(url, data={"csrf_token": token}, follow_redirects=False)
        )
        answers[f"{method} {path}"] = response.status_code
    for query in QUERIES:
        answers[query] = admin.get(query.format(id=value), follow_redirects=False).status_code
    assert len(answers) > 40
    assert {route: code for route, code in answers.items() if code >= 500} == {}
