"""API tokens: made by HR officers and admins in the browser (secret shown once, only its
SHA-256 kept), listed and revoked by their owner only, audited; and what a token is worth
when presented: expired, revoked, unknown, withdrawn grants, an inactive owner."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.clock import as_utc, utcnow
from modules.accounts import grants
from modules.accounts import service as accounts_service
from modules.accounts.grants import grants_of, withdraw
from modules.accounts.models import ApiToken, User
from modules.audit.models import AuditEvent
from tests.conftest import csrf_from
from tests.modules.reports.api_helpers import bearer, token_for
from tests.modules.reports.helpers import staff

SECRET_RE = re.compile(r"bk_[A-Za-z0-9_-]{40,}")
HR_NIP = "198001012005011901"
API = "/api/v1/reports/completion"


def _bkn(app) -> int:
    from modules.agencies import service as agencies_service

    with Session(app.state.engine) as s:
        return agencies_service.get_by_code(session=s, code="LB-BKN").id


def _make(client: TestClient, **form: str):
    data = {"csrf_token": csrf_from(client, "/manage/api-tokens"), **form}
    return client.post("/manage/api-tokens", data=data, follow_redirects=False)


def _tokens(app) -> list[ApiToken]:
    with Session(app.state.engine) as s:
        return list(s.exec(select(ApiToken).order_by(col(ApiToken.id))).all())


def _actions(app) -> list[str]:
    with Session(app.state.engine) as s:
        return [e.action for e in s.exec(select(AuditEvent)).all()]


def test_an_officer_makes_a_token_and_sees_the_secret_once(app) -> None:
    hr = staff(app, "hr", _bkn(app), HR_NIP)
    empty = hr.get("/manage/api-tokens")
    assert empty.status_code == 200 and not SECRET_RE.search(empty.text)
    made = _make(hr, name="SIMPEG BKN", days="30")
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    secret = SECRET_RE.search(made.text).group(0)
    [token] = _tokens(app)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:11] and secret not in (token.name, token.prefix)
    assert as_utc(token.expires_at) - utcnow() > timedelta(days=29, hours=23)
    assert as_utc(token.expires_at) - utcnow() <= timedelta(days=30)
    listed = hr.get("/manage/api-tokens").text
    assert secret not in listed and token.prefix in listed and "SIMPEG BKN" in listed
    assert "api_token.create" in _actions(app)
    with Session(app.state.engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "api_token.create")).one()
    assert secret not in event.detail and token.prefix in event.detail
    assert hr.get(API, headers=bearer(secret)).status_code == 200


def test_the_default_lifetime_is_a_year_and_bad_forms_are_refused(app) -> None:
    admin = staff(app, "admin", None, "198001012005011903")
    assert _make(admin, name="Dashboard").status_code == 200
    [token] = _tokens(app)
    assert as_utc(token.expires_at) - utcnow() > timedelta(days=364)
    for form in (
        {"name": ""},
        {"name": "x", "days": "0"},
        {"name": "x", "days": "731"},
        {"name": "x", "days": "abc"},
        {"name": "a\x00b"},
        {"name": "x" * 101},
    ):
        response = _make(admin, **form)
        assert response.status_code == 422, form
        assert 'class="error" id="e-' in response.text and not SECRET_RE.search(response.text)
    assert len(_tokens(app)) == 1
    refused = admin.post("/manage/api-tokens", data={"name": "no csrf"})
    assert refused.status_code == 403 and len(_tokens(app)) == 1


def test_only_the_owner_lists_and_revokes_a_token(app) -> None:
    bkn = _bkn(app)
    owner = staff(app, "hr", bkn, HR_NIP)
    other = staff(app, "hr", bkn, "198001012005011902")
    secret = SECRET_RE.search(_make(owner, name="SIMPEG").text).group(0)
    [token] = _tokens(app)
    assert token.prefix not in other.get("/manage/api-tokens").text
    url = f"/manage/api-tokens/{token.id}/revoke"
    stolen = other.post(url, data={"csrf_token": csrf_from(other, "/manage/api-tokens")})
    assert stolen.status_code == 404
    assert owner.get(API, headers=bearer(secret)).status_code == 200
    done = owner.post(
        url,
        data={"csrf_token": csrf_from(owner, "/manage/api-tokens")},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/manage/api-tokens"
    assert _tokens(app)[0].revoked_at is not None
    assert "api_token.revoke" in _actions(app)
    refused = owner.get(API, headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.headers["content-type"] == "application/problem+json"


def test_expired_unknown_and_malformed_tokens_are_refused_with_401(app) -> None:
    staff(app, "hr", _bkn(app), HR_NIP)
    secret = token_for(app, HR_NIP)
    client = TestClient(app)
    with Session(app.state.engine) as s:
        token = s.exec(select(ApiToken)).one()
        token.expires_at = utcnow() - timedelta(seconds=1)
        s.add(token)
        s.commit()
    for headers in (
        bearer(secret),  # expired
        bearer("bk_" + "A" * 43),  # unknown
        bearer("garbage"),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {},
    ):
        response = client.get(API, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer"), headers
        body = response.json()
        assert body["status"] == 401 and body["detail"], headers


def test_a_token_follows_its_owners_current_grants_and_account(app) -> None:
    bkn = _bkn(app)
    staff(app, "hr", bkn, HR_NIP)
    secret = token_for(app, HR_NIP)
    client = TestClient(app)
    assert client.get(API, headers=bearer(secret)).status_code == 200
    with Session(app.state.engine) as s:
        user = accounts_service.get_by_nip(session=s, nip=HR_NIP)
        [grant] = grants_of(session=s, user_id=user.id)
        withdraw(session=s, user=user, grant_id=grant.id, actor_id=None, address="")
    refused = client.get(API, headers=bearer(secret))
    assert refused.status_code == 403 and refused.json()["status"] == 403
    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.nip == HR_NIP)).one()
        grants.grant(session=s, user=user, role="trainer")
    assert client.get(API, headers=bearer(secret)).status_code == 403  # no HR role
    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.nip == HR_NIP)).one()
        grants.grant(session=s, user=user, role="hr", agency_id=bkn)
        assert client.get(API, headers=bearer(secret)).status_code == 200  # back
        user.active = False
        s.add(user)
        s.commit()
    assert client.get(API, headers=bearer(secret)).status_code == 401


def test_last_use_is_written_at_most_once_a_minute(app) -> None:
    staff(app, "hr", _bkn(app), HR_NIP)
    secret = token_for(app, HR_NIP)
    client = TestClient(app)

    def last_used():
        with Session(app.state.engine) as s:
            return s.exec(select(ApiToken.last_used_at)).one()

    assert last_used() is None
    client.get(API, headers=bearer(secret))
    first = last_used()
    assert first is not None
    client.get(API, headers=bearer(secret))
    assert last_used() == first  # within the minute: no write
    with Session(app.state.engine) as s:
        token = s.exec(select(ApiToken)).one()
        token.last_used_at = utcnow() - timedelta(minutes=2)
        s.add(token)
        s.commit()
    client.get(API, headers=bearer(secret))
    assert as_utc(last_used()) > as_utc(first)


def test_posting_the_same_form_again_makes_no_second_token(app) -> None:
    hr = staff(app, "hr", _bkn(app), HR_NIP)
    data = {"csrf_token": csrf_from(hr, "/manage/api-tokens"), "name": "SIMPEG", "days": "30"}
    assert hr.post("/manage/api-tokens", data=data).status_code == 200
    again = hr.post("/manage/api-tokens", data=data)  # a reload of the page with the secret
    assert again.status_code == 422 and not SECRET_RE.search(again.text)
    assert len(_tokens(app)) == 1
    [token] = _tokens(app)
    token_csrf = csrf_from(hr, "/manage/api-tokens")
    hr.post(f"/manage/api-tokens/{token.id}/revoke", data={"csrf_token": token_csrf})
    assert hr.post("/manage/api-tokens", data=data).status_code == 200  # the name is free again
