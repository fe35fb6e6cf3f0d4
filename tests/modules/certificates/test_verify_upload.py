"""Checking an uploaded or pasted credential, on the page and through the API: what holds,
and why not when it does not."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from modules.certificates import service
from modules.certificates.models import Certificate
from tests.conftest import csrf_from, register
from tests.modules.certificates.helpers import complete_in_browserless_client, make_app


@pytest.fixture
def env(db_url, tmp_path):
    app = make_app(db_url, tmp_path, verify_per_minute=1000)
    with TestClient(app, base_url="http://testserver") as client:
        assert register(client).status_code == 303
        complete_in_browserless_client(client)
        with Session(app.state.engine) as session:
            certificate = session.exec(select(Certificate)).one()
        token = client.get(f"/certificates/{certificate.code}/credential.jwt").text
        envelope = client.get(f"/certificates/{certificate.code}/credential.json").text
        yield app, client, certificate, token, envelope
    app.state.engine.dispose()


def _machine(client) -> TestClient:
    """Another system calling the API: no cookies of ours."""
    return TestClient(client.app, base_url="http://testserver")


def _api(client, credential) -> dict:
    response = _machine(client).post("/api/v1/credentials/verify", json={"credential": credential})
    assert response.status_code == 200, response.text
    return response.json()


def test_our_credential_is_valid_as_jwt_and_as_json(env) -> None:
    _app, client, certificate, token, envelope = env
    for sent in (token, envelope, json.loads(envelope)):
        answer = _api(client, sent)
        assert answer["valid"], answer
        assert [c["name"] for c in answer["checks"]] == ["signature", "issuer", "dates", "status"]
        assert answer["verification_url"] == f"http://testserver/verify/{certificate.code}"


def test_the_page_checks_a_pasted_or_uploaded_credential(env) -> None:
    _app, client, certificate, token, _envelope = env
    page = client.get("/credentials/verify")
    assert page.status_code == 200
    csrf = csrf_from(client, "/credentials/verify")
    pasted = client.post("/credentials/verify", data={"credential": token, "csrf_token": csrf})
    assert pasted.status_code == 200 and "Tidak dicabut" in pasted.text
    assert f"/verify/{certificate.code}" in pasted.text
    uploaded = client.post(
        "/credentials/verify",
        data={"csrf_token": csrf},
        files={"file": ("sertifikat.jwt", token.encode(), "application/octet-stream")},
    )
    assert uploaded.status_code == 200 and "✓ Sah" in uploaded.text


def _tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["creditsEarned"] = 99
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def test_a_changed_credential_is_refused_with_the_reason(env) -> None:
    _app, client, _certificate, token, _envelope = env
    answer = _api(client, _tampered(token))
    assert not answer["valid"]
    assert answer["checks"] == [
        {
            "name": "signature",
            "ok": False,
            "message": "The signature does not match the content.",
        }
    ]


def test_a_revoked_credential_is_refused_for_its_status(env) -> None:
    app, client, certificate, token, _envelope = env
    with Session(app.state.engine, expire_on_commit=False) as session:
        row = session.get(Certificate, certificate.id)
        service.revoke(
            session=session, certificate=row, reason="Salah data", actor_id=None, address=""
        )
    answer = _api(client, token)
    assert not answer["valid"]
    failed = [c for c in answer["checks"] if not c["ok"]]
    assert failed == [{"name": "status", "ok": False, "message": "It has been revoked."}]


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("", "Paste a credential or choose a file."),
        ("hello", "This is neither a JWT nor valid JSON."),
        ("{not json", "This is neither a JWT nor valid JSON."),
        ('{"type": "VerifiableCredential"}', "This JSON carries no signature we can check"),
        ("a.b.c", "This JWT cannot be read."),
        ("x" * 70_000, "That is too large to be one of our credentials."),
    ],
)
def test_bad_input_gets_a_clear_reason(env, sent, reason) -> None:
    _app, client, *_rest = env
    answer = _api(client, sent)
    assert not answer["valid"]
    assert answer["checks"][0]["message"].startswith(reason)


def test_a_credential_signed_by_another_key_is_refused(env) -> None:
    _app, client, _certificate, token, _envelope = env
    from joserfc import jws
    from joserfc.jwk import OKPKey

    stranger = OKPKey.generate_key("Ed25519")
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    forged = jws.serialize_compact(
        {"alg": "EdDSA", "kid": stranger.thumbprint()}, payload, stranger, algorithms=["EdDSA"]
    )
    answer = _api(client, forged)
    assert answer["checks"] == [
        {"name": "signature", "ok": False, "message": "It was not signed with any of our keys."}
    ]


def test_a_logged_in_browser_still_needs_the_csrf_token_on_the_api(env) -> None:
    _app, client, _certificate, token, _envelope = env
    response = client.post("/api/v1/credentials/verify", json={"credential": token})
    assert response.status_code == 403


def test_the_api_answers_malformed_bodies_with_problem_json(env) -> None:
    _app, browser, *_rest = env
    client = _machine(browser)
    for body in ({}, {"credential": 5}, {"credential": None}):
        response = client.post("/api/v1/credentials/verify", json=body)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
    raw = client.post(
        "/api/v1/credentials/verify",
        content=b"not json",
        headers={"content-type": "application/json"},
    )
    assert raw.status_code == 422


def test_the_page_refuses_a_non_utf8_upload_clearly(env) -> None:
    _app, client, *_rest = env
    csrf = csrf_from(client, "/credentials/verify")
    response = client.post(
        "/credentials/verify",
        data={"csrf_token": csrf},
        files={"file": ("x.jwt", b"\xff\xfe\x00garbage", "application/octet-stream")},
    )
    assert response.status_code == 422
    assert "bukan JWT" in response.text or "JWT" in response.text


def _unsigned_with_our_kid(client, header_extra: dict, payload: dict | None = None) -> str:
    kid = _machine(client).get("/.well-known/jwks.json").json()["keys"][0]["kid"]

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    header = {"alg": "EdDSA", "kid": kid, **header_extra}
    return f"{part(header)}.{part(payload or {'a': 1})}.{'A' * 86}"


@pytest.mark.parametrize(
    "header",
    [{"crit": ["zzz"], "zzz": 1}, {"crit": "x"}, {"jku": 5}, {"x5u": []}, {"typ": 7}, {"jwk": "x"}],
)
def test_crafted_headers_are_refused_not_crashed_on(env, header) -> None:
    _app, client, *_rest = env
    answer = _api(client, _unsigned_with_our_kid(client, header))
    assert not answer["valid"]
    assert answer["checks"][0]["name"] in ("signature", "format")


def test_an_installation_signing_with_eddsa_moves_to_rs256_and_old_credentials_verify(
    env,
) -> None:
    """Keys made before RS256 were Ed25519: at start-up the active one is retired for an RSA
    key; credentials it signed (their header naming the bare kid, as they were written) still
    verify, through our checker and the JWKS."""
    from joserfc import jws

    from app.main import prepare
    from modules.certificates import credential, keys

    app, client, certificate, _token, _envelope = env
    settings = app.state.settings
    with Session(app.state.engine) as session:
        old = keys.rotate(session=session, secret=settings.secret_key, alg=keys.EDDSA)[1]
        signer = keys.signing_key(session=session, secret=settings.secret_key)
        assert signer.alg == "EdDSA"
        body = credential.build(certificate, credential.Issuer("http://testserver", "BKN"))
        claims = {**body, "iss": body["issuer"]["id"], "jti": body["id"]}
        claims["sub"] = body["credentialSubject"]["id"]
        claims["nbf"] = credential._epoch(body["validFrom"])
        claims["exp"] = credential._epoch(body["validUntil"])
        header = {"alg": "EdDSA", "kid": old.kid, "typ": "vc+jwt", "cty": "vc"}
        old_token = jws.serialize_compact(
            header, json.dumps(claims).encode(), signer.key, algorithms=["EdDSA"]
        )
    prepare(settings)  # what `berakhlak serve` does at start-up
    with Session(app.state.engine) as session:
        now = keys.signing_key(session=session, secret=settings.secret_key)
        assert now.alg == "RS256" and now.kid != old.kid
    jwks = client.get("/.well-known/jwks.json").json()["keys"]
    assert {k["alg"] for k in jwks} >= {"RS256", "EdDSA"}
    assert all("d" not in k for k in jwks)
    answer = _api(client, old_token)
    assert answer["valid"], answer
    new_token = client.get(f"/certificates/{certificate.code}/credential.jwt").text
    assert json.loads(base64.urlsafe_b64decode(new_token.split(".")[0] + "=="))["alg"] == "RS256"
    assert _api(client, new_token)["valid"]
    assert client.get("/keys/not-a-key").status_code == 404
    assert client.get(f"/keys/{old.kid}").json()["alg"] == "EdDSA"
