"""What a holder downloads and what anyone can check: the PDF (holder, number, a QR code that
decodes to the verification page), the VC-JWT verified by an independent JOSE library (PyJWT)
against the published JWKS, and the public verification page."""

from __future__ import annotations

import base64
import gzip
import io
import json
from datetime import timedelta

import jwt as pyjwt
import pypdfium2
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session, select

from app.clock import utcnow
from modules.certificates import credential, keys, service
from modules.certificates.models import Certificate
from tests.conftest import SECRET, csrf_from, register
from tests.modules.certificates.helpers import complete_in_browserless_client, make_app


@pytest.fixture
def app(db_url, tmp_path):
    application = make_app(db_url, tmp_path, verify_per_minute=1000)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def holder(app):
    """A registered learner who completed the demo course through the real routes."""
    with TestClient(app, base_url="http://testserver") as client:
        assert register(client, name="Dewi Kartika Sari").status_code == 303
        complete_in_browserless_client(client)
        with Session(app.state.engine) as session:
            certificate = session.exec(select(Certificate)).one()
        yield client, certificate


def test_completing_the_course_issues_the_certificate_listed_on_my_certificates(holder) -> None:
    client, certificate = holder
    page = client.get("/certificates")
    assert page.status_code == 200
    assert certificate.number in page.text and "Kursus Contoh" in page.text
    assert f"/certificates/{certificate.code}.pdf" in page.text


def test_the_pdf_shows_holder_and_number_and_its_qr_leads_to_the_verification_page(
    holder,
) -> None:
    client, certificate = holder
    response = client.get(f"/certificates/{certificate.code}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Dewi Kartika Sari" in text and certificate.number in text
    assert "2 JP" in text and "Kursus Contoh" in text
    page = pypdfium2.PdfDocument(response.content)[0]
    image = page.render(scale=3).to_pil()
    decoded = [r.text for r in zxingcpp.read_barcodes(image)]
    assert decoded == [f"http://testserver/verify/{certificate.code}"]
    verdict = client.get(decoded[0].removeprefix("http://testserver"))
    assert verdict.status_code == 200 and "Sah" in verdict.text
    # made once: the second download is the cached file, byte for byte
    assert client.get(f"/certificates/{certificate.code}.pdf").content == response.content


def _jwks(client) -> pyjwt.PyJWKSet:
    return pyjwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())


def _decode(client, token: str) -> dict:
    """Verify as an Open Badges verifier does (§8.2): dereference the header's `kid` URI to
    the public JWK, then check the signature with it (PyJWT, an independent library)."""
    header = pyjwt.get_unverified_header(token)
    assert header["kid"].startswith("http://testserver/keys/")
    jwk = client.get(header["kid"].removeprefix("http://testserver")).json()
    assert "d" not in jwk and jwk["kid"] == header["kid"].rsplit("/", 1)[1]
    key = pyjwt.PyJWK(jwk)
    return pyjwt.decode(token, key.key, algorithms=[header["alg"]], options={"verify_aud": False})


def test_the_signed_credential_verifies_with_an_independent_jose_library(holder) -> None:
    client, certificate = holder
    token = client.get(f"/certificates/{certificate.code}/credential.jwt").text
    header = pyjwt.get_unverified_header(token)
    # OB 3.0 §8.2: alg RS256 (what every verifier supports), kid a dereferenceable URI,
    # typ "JWT"; no other header
    assert set(header) == {"alg", "kid", "typ"}
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    claims = _decode(client, token)
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["iss"] == "http://testserver/issuer" == claims["issuer"]["id"]
    assert claims["jti"] == claims["id"] == f"http://testserver/verify/{certificate.code}"
    assert claims["validUntil"] and claims["exp"] > claims["nbf"]
    assert claims["validFrom"] <= claims["awardedDate"] < claims["validUntil"]
    subject = claims["credentialSubject"]
    assert subject["achievement"]["name"] == "Kursus Contoh"
    # the holder: by name (as on the public page) and an opaque id, never the NIP
    assert subject["identifier"][0] == {
        "type": "IdentityObject",
        "identityHash": "Dewi Kartika Sari",
        "identityType": "name",
        "hashed": False,
    }
    assert subject["id"].startswith("urn:uuid:") and claims["sub"] == subject["id"]
    assert subject["id"] == service.holder_ref(certificate.holder_nip, SECRET)
    payload = json.dumps(claims)
    for part in (certificate.holder_nip, certificate.holder_nip[-6:], certificate.holder_nip[:8]):
        assert part not in payload
    assert claims["credentialStatus"]["statusListIndex"] == str(certificate.id)
    issuer = client.get("/issuer").json()
    assert issuer["id"] == claims["iss"] and "Profile" in issuer["type"]
    enveloped = client.get(f"/certificates/{certificate.code}/credential.json").json()
    # RS256 (PKCS #1 v1.5) signatures are deterministic: the envelope carries the same JWT
    assert enveloped["id"] == f"data:application/vc+jwt,{token}"
    assert enveloped["credential"]["id"] == claims["id"]


def test_one_changed_byte_of_the_payload_breaks_the_signature(holder) -> None:
    client, certificate = holder
    token = client.get(f"/certificates/{certificate.code}/credential.jwt").text
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    position = raw.index(b"Kursus Contoh")
    raw[position] = ord("k")
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(pyjwt.InvalidSignatureError):
        _decode(client, f"{head}.{forged}.{signature}")


def _revoked_bits(client) -> bytes:
    listing = client.get("/credentials/status/1").json()
    encoded = listing["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _is_revoked(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def test_after_revocation_the_status_list_and_our_checker_say_revoked(app, holder) -> None:
    client, certificate = holder
    token = client.get(f"/certificates/{certificate.code}/credential.jwt").text
    assert not _is_revoked(_revoked_bits(client), certificate.id)
    with Session(app.state.engine, expire_on_commit=False) as session:
        row = session.get(Certificate, certificate.id)
        service.revoke(
            session=session,
            certificate=row,
            reason="Data kelulusan keliru",
            actor_id=None,
            address="",
        )
        jwks = keys.published(session=session)
    bits = _revoked_bits(client)
    assert len(bits) * 8 >= credential.STATUS_LIST_BITS
    assert _is_revoked(bits, certificate.id)
    _decode(client, token)  # the signature itself still holds ...
    issuer = credential.Issuer("http://testserver", "x")
    report = credential.check_jwt(
        token, jwks=jwks, issuer=issuer, revoked=lambda i: _is_revoked(bits, i)
    )
    assert not report.valid  # ... but the credential is revoked
    assert [c.name for c in report.checks if not c.ok] == ["status"]
    page = client.get(f"/verify/{certificate.number}")
    # by number: revoked, and when; the reason (it may name the holder) only with the code
    assert page.status_code == 200 and "Dicabut pada" in page.text
    assert "Data kelulusan keliru" not in page.text
    assert "Data kelulusan keliru" in client.get(f"/verify/{certificate.code}").text
    for suffix in (".pdf", "/credential.jwt", "/credential.json"):  # no longer handed out
        assert client.get(f"/certificates/{certificate.code}{suffix}").status_code == 410


def test_a_credential_past_its_valid_until_is_refused(app, holder) -> None:
    client, certificate = holder
    with Session(app.state.engine, expire_on_commit=False) as session:
        row = session.get(Certificate, certificate.id)
        row.completed_at = utcnow() - timedelta(days=400)
        row.valid_until = utcnow() - timedelta(days=35)
        session.add(row)
        session.commit()
    token = client.get(f"/certificates/{certificate.code}/credential.jwt").text
    with pytest.raises(pyjwt.ExpiredSignatureError):
        _decode(client, token)
    page = client.get(f"/verify/{certificate.code}")
    assert "Kedaluwarsa" in page.text


def test_old_credentials_still_verify_after_the_key_is_rotated(app, holder) -> None:
    client, certificate = holder
    before = client.get(f"/certificates/{certificate.code}/credential.jwt").text
    with Session(app.state.engine) as session:
        retired, new = keys.rotate(session=session, secret=app.state.settings.secret_key)
    after = client.get(f"/certificates/{certificate.code}/credential.jwt").text
    assert pyjwt.get_unverified_header(before)["kid"].rsplit("/", 1)[1] in retired
    assert pyjwt.get_unverified_header(after)["kid"] == f"http://testserver/keys/{new.kid}"
    assert len(client.get("/.well-known/jwks.json").json()["keys"]) == 2
    _decode(client, before)
    _decode(client, after)


def test_by_number_a_certificate_shows_no_holder_and_by_code_it_does(holder) -> None:
    client, certificate = holder
    client.post("/logout", data={"csrf_token": ""})  # anyone, logged in or not
    anonymous = TestClient(client.app, base_url="http://testserver")
    page = anonymous.get(f"/verify/{certificate.number}")
    assert page.status_code == 200
    main = page.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert "Sah" in main and "2 JP" in main
    # numbers can be guessed: looked up by one, nobody learns whose certificate it is
    for personal in ("Dewi", certificate.holder_agency, service.mask_nip(certificate.holder_nip)):
        assert personal not in main
    assert page.headers["cache-control"] == "no-store"
    coded = anonymous.get(f"/verify/{certificate.code}")
    main = coded.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert "Dewi Kartika Sari" in main and certificate.holder_agency in main
    assert service.mask_nip(certificate.holder_nip) in main
    assert certificate.holder_nip not in main
    # the email, position and work unit are not shown
    assert "@" not in main


def test_a_paper_copy_is_checked_by_number_and_the_holders_name_or_nip(holder) -> None:
    client, certificate = holder
    visitor = TestClient(client.app, base_url="http://testserver")
    url = f"/verify/{certificate.number}"
    token = csrf_from(visitor, url)

    def check(holder_text: str):
        return visitor.post(url, data={"csrf_token": token, "holder": holder_text})

    assert "Cocok" in check("Dr. Dewi Kartika Sari, S.Kom.").text
    assert "Cocok" in check("dewi  kartika   SARI").text
    assert "Cocok" in check(certificate.holder_nip[:8] + " " + certificate.holder_nip[8:]).text
    wrong = check("Dewi Kartika")
    assert wrong.status_code == 200 and "Tidak cocok" in wrong.text
    assert "Dewi Kartika Sari" not in wrong.text.split("<main", 1)[1]
    assert "Tidak cocok" in check("199001012015031999").text
    assert "Tidak cocok" in check("Dewi Kartika Sari Ani Budi Citra Dedi Eka Fajar").text
    assert check("").status_code == 422
    answers = [check("Siti").status_code for _ in range(20)]
    assert answers[-1] == 429  # twenty checks a day per certificate


@pytest.mark.parametrize(
    "ref", ["BA/1999/000001", "ZZZZZZZZZZZZ", "<script>alert(1)</script>", "%00", "a" * 300]
)
def test_looking_up_nonsense_says_not_found_and_never_errs(app, ref) -> None:
    with TestClient(app, base_url="http://testserver") as client:
        page = client.get(f"/verify/{ref}")
        assert page.status_code == 404
        assert "Tidak ditemukan" in page.text and "<script>alert" not in page.text


def test_look_ups_are_rate_limited_per_address(db_url, tmp_path) -> None:
    app = make_app(db_url, tmp_path, verify_per_minute=3)
    try:
        with TestClient(app, base_url="http://testserver") as client:
            answers = [client.get("/verify/BA/2026/000001").status_code for _ in range(5)]
        assert answers == [404, 404, 404, 429, 429]
    finally:
        app.state.engine.dispose()


def test_the_verify_form_sends_the_visitor_to_the_lookup(app) -> None:
    with TestClient(app, base_url="http://testserver") as client:
        response = client.get("/verify", params={"ref": " BA/2026/000001 "}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/verify/BA/2026/000001"
        assert client.get("/verify").status_code == 200


def test_someone_elses_certificate_documents_are_not_found(app, holder) -> None:
    _client, certificate = holder
    with TestClient(app, base_url="http://testserver") as other:
        assert register(other, nip="199202022016042002", email="lain@bkn.go.id").status_code == 303
        for suffix in (".pdf", "/credential.jwt", "/credential.json"):
            assert other.get(f"/certificates/{certificate.code}{suffix}").status_code == 404


def test_the_language_switch_on_a_cached_page_returns_to_this_visitors_address(holder) -> None:
    client, certificate = holder
    first = TestClient(client.app, base_url="http://testserver")
    first.get(f"/verify/{certificate.code}?utm_source=someone-else")
    second = TestClient(client.app, base_url="http://testserver")
    page = second.get(f"/verify/{certificate.number}").text
    assert f'name="next" value="/verify/{certificate.number}"' in page
    assert "someone-else" not in page


def test_a_changed_platform_secret_gives_a_clear_503_until_keys_are_rotated(app, holder) -> None:
    client, certificate = holder
    assert client.get(f"/certificates/{certificate.code}/credential.jwt").status_code == 200
    app.state.settings = app.state.settings.model_copy(update={"secret_key": "z" * 40})
    response = client.get(f"/certificates/{certificate.code}/credential.jwt")
    assert response.status_code == 503 and "tidak dapat ditandatangani" in response.text
    with Session(app.state.engine) as session:
        keys.rotate(session=session, secret="z" * 40)
    assert client.get(f"/certificates/{certificate.code}/credential.jwt").status_code == 200


def test_a_number_pattern_with_a_random_part(db_url, tmp_path) -> None:
    from tests.modules.certificates.helpers import completed_user, issue, make_app

    app = make_app(
        db_url, tmp_path, certificate_number_pattern="BA/{year}/{serial:06d}-{random}{restore}"
    )
    first, second = (issue(app, completed_user(app, index)) for index in (1, 2))
    for certificate in (first, second):
        prefix, _dash, random = certificate.number.rpartition("-")
        assert prefix.endswith(f"{certificate.serial:06d}") and len(random) == 4
        assert set(random) <= set(service.CODE_ALPHABET)
    page = TestClient(app, base_url="http://testserver").get(f"/verify/{first.number}")
    assert page.status_code == 200 and "Sah" in page.text
    app.state.engine.dispose()
