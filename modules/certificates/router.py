"""Pages and documents: my certificates, the PDF and the signed credential for the holder;
public verification by number or code; the issuer profile, its keys and the revocation list."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app import i18n, ratelimit
from app.auth import CurrentUser, OptionalUser
from app.db import SessionDep, autocommit, write_lock
from app.errors import problem
from app.forms import FormData, RawForm, client_address
from app.i18n import N_
from app.templating import render, request_locale
from modules.accounts import service as accounts_service
from modules.certificates import credential, keys, pdf, service
from modules.certificates.dependencies import OwnCertificate
from modules.certificates.models import Certificate
from modules.certificates.schemas import CheckOut, CredentialIn, VerificationOut
from modules.plans import service as plans_service

router = APIRouter()
log = logging.getLogger("berakhlak.certificates")

PUBLIC_CACHE = {"Cache-Control": "public, max-age=300"}
MINUTE = timedelta(minutes=1)


def _issuer(request: Request) -> credential.Issuer:
    settings = request.app.state.settings
    return credential.Issuer(settings.base_url.rstrip("/"), settings.issuer_name)


def _objectives(request: Request, certificate: Certificate) -> list[str]:
    view = request.app.state.catalogue.version(certificate.content_version_id)
    return list(view.content.objectives) if view is not None else []


def _verify_url(request: Request, certificate: Certificate) -> str:
    return credential.verify_url(_issuer(request).base_url, certificate)


def _value_names(catalogue: Any, course_id: str) -> Any:
    """How a course names its values (tags), for a plan shown beside its certificate."""
    course = catalogue.get(course_id)
    return course.content.tag_name if course else str


@router.get("/certificates")
def my_certificates(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The learner's certificates, and those their completions are still owed (the worker
    issues them; a page view never does)."""
    catalogue = request.app.state.catalogue
    owed = [
        {"course": catalogue.get(o.course_id), "owed": o, "state": state}
        for o, state in service.owed_to(session=session, user_id=user.id)
    ]
    items = [
        {
            "c": c,
            "status": service.status(c),
            "verify_url": _verify_url(request, c),
            # the action plan, for the learner's eyes only (never on the verification page)
            "plan": plans_service.get(session=session, user_id=user.id, course_id=c.course_id),
            "value_name": _value_names(catalogue, c.course_id),
        }
        for c in service.for_user(session=session, user_id=user.id)
    ]
    manages = bool(accounts_service.roles_of(session=session, user_id=user.id) & {"hr", "admin"})
    unverified = not accounts_service.is_verified(session=session, user_id=user.id)
    return render(
        request,
        "certificates/mine.html",
        {
            "items": items,
            "owed": owed,
            "manages": manages,
            "unverified": unverified,
            "outcome_labels": plans_service.OUTCOME_LABELS,
        },
    )


@router.get("/certificates/{code}.pdf")
def certificate_pdf(request: Request, certificate: OwnCertificate) -> Response:
    """The printable certificate (rendered once, then served from the cache)."""
    settings = request.app.state.settings
    view = request.app.state.catalogue.version(certificate.content_version_id)
    modules = [m.title for m in view.content.modules] if view else []
    body = pdf.render(
        request.app.state.templates,
        certificate,
        verify_url=_verify_url(request, certificate),
        issuer_name=settings.issuer_name,
        modules=modules,
        cache_dir=settings.certificate_cache_dir,
    )
    filename = f"sertifikat-{certificate.number.replace('/', '-')}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, max-age=3600",
        },
    )


def _key(request: Request, session: SessionDep) -> keys.Signer:
    """The signing key, or 503: a database without a key (made at start-up, or by `berakhlak
    keys generate`), or after a change of the platform secret, until an operator runs
    `berakhlak keys rotate`."""
    try:
        return keys.signing_key(session=session, secret=request.app.state.settings.secret_key)
    except keys.KeyUnavailable as exc:
        log.error("signing key unavailable (%s): see docs/operations.md", exc)
        raise HTTPException(
            503, N_("Credentials cannot be signed right now; the administrators have been told.")
        ) from None


def _signed(request: Request, session: SessionDep, certificate: Certificate) -> str:
    signer = _key(request, session)
    base = request.app.state.settings.base_url
    return credential.sign(credential.build(certificate, _issuer(request)), signer, base)


@router.get("/certificates/{code}/credential.jwt")
def credential_jwt(request: Request, session: SessionDep, certificate: OwnCertificate) -> Response:
    """The Open Badges 3.0 credential as a VC-JWT (signed with the current key)."""
    token = _signed(request, session, certificate)
    return Response(
        token,
        media_type="application/vc+jwt",
        headers={
            "Content-Disposition": f'attachment; filename="sertifikat-{certificate.code}.jwt"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/certificates/{code}/credential.json")
def credential_json(request: Request, session: SessionDep, certificate: OwnCertificate) -> Response:
    """The credential as JSON, enveloped (VC 2.0 `EnvelopedVerifiableCredential`): the JWT is
    its proof, so the JSON verifies exactly as the JWT does."""
    token = _signed(request, session, certificate)
    body = {
        "@context": credential.CONTEXT[:1],
        "id": f"data:application/vc+jwt,{token}",
        "type": "EnvelopedVerifiableCredential",
        "credential": credential.build(certificate, _issuer(request)),
    }
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="sertifikat-{certificate.code}.json"',
            "Cache-Control": "private, no-store",
        },
    )


def _check_upload(request: Request, session: SessionDep, text: str) -> credential.Report:
    """Verify what a visitor pasted or uploaded against our keys and revocation list."""
    token, problem = credential.parse_upload(text)
    if token is None:
        return credential.Report([credential.Check("format", False, problem or "")])
    return credential.check_jwt(
        token,
        jwks=keys.published(session=session),
        issuer=_issuer(request),
        revoked=lambda index: service.revoked_state(session=session, index=index),
    )


def _allowed(request: Request, session: SessionDep) -> bool:
    """Count one look-up for the visitor's address; False when over the limit."""
    address = client_address(request)
    with write_lock(request.app.state.engine):  # SQLite: queue here, not in its busy handler
        allowed = ratelimit.allow(
            session.connection(),
            ratelimit.address_key("verify", address),
            limit=request.app.state.settings.verify_per_minute,
            per=MINUTE,
        )
        session.commit()
    return allowed


def _report_view(report: credential.Report) -> dict[str, Any]:
    """The report for the page: each check's message translated and its dates formatted."""
    checks = []
    for check in report.checks:
        values = {
            k: i18n.format_day(v) if isinstance(v, datetime) else v for k, v in check.values.items()
        }
        checks.append(
            {"name": check.name, "ok": check.ok, "text": i18n.tr(check.message, **values)}
        )
    claims = report.claims or {}
    subject = claims.get("credentialSubject") if isinstance(claims, dict) else None
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    return {
        "valid": report.valid,
        "checks": checks,
        "title": achievement.get("name") if isinstance(achievement, dict) else None,
        "code": report.code,
    }


@router.get("/credentials/verify")
def verify_credential_form(request: Request, _user: OptionalUser) -> Response:
    """Check a signed credential (JWT or JSON) by pasting or uploading it."""
    return render(request, "certificates/verify_credential.html", {"text": "", "report": None})


@router.post("/credentials/verify")
async def verify_credential_page(
    request: Request, session: SessionDep, _user: OptionalUser, form: RawForm
) -> Response:
    """The verdict on an uploaded or pasted credential, check by check."""
    text = form.get("credential")
    text = text if isinstance(text, str) else ""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(credential.MAX_UPLOAD + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"  # reported as unreadable below
    if not await run_in_threadpool(_allowed, request, session):
        response = render(
            request,
            "certificates/verify_credential.html",
            {"text": "", "report": None, "limited": True},
            status_code=429,
        )
        response.headers["Retry-After"] = "60"
        return response
    report = await run_in_threadpool(_check_upload, request, session, text)
    i18n.set_locale(request_locale(request))  # the messages are translated before rendering
    view = _report_view(report)
    shown = text if len(text) <= credential.MAX_UPLOAD and text.isprintable() else ""
    return render(
        request,
        "certificates/verify_credential.html",
        {"text": shown, "report": view},
        status_code=200 if report.claims is not None or report.valid else 422,
    )


@router.post(
    "/api/v1/credentials/verify",
    tags=["certificates"],
    response_model=VerificationOut,
    responses={429: {"description": "Too many look-ups from this address (problem+json)."}},
)
def verify_credential_api(request: Request, session: SessionDep, body: CredentialIn) -> Any:
    """Check a credential's signature (against our JWKS), issuer, validity dates and
    revocation status. Public; rate limited per address like the verification page."""
    if not _allowed(request, session):
        return problem(429, "Too many look-ups from this address; wait a minute.")
    text = body.credential if isinstance(body.credential, str) else json.dumps(body.credential)
    report = _check_upload(request, session, text)
    base = _issuer(request).base_url
    return VerificationOut(
        valid=report.valid,
        checks=[
            CheckOut(
                name=c.name,
                ok=c.ok,
                message=c.message.format(
                    **{
                        k: v.date().isoformat() if isinstance(v, datetime) else v
                        for k, v in c.values.items()
                    }
                ),
            )
            for c in report.checks
        ],
        verification_url=f"{base}/verify/{report.code}" if report.code else None,
    )


@router.get("/verify")
def verify_form(request: Request, _user: OptionalUser, ref: str = "") -> Response:
    """Look a certificate up by its number or code (the form sends `?ref=`)."""
    ref = ref.strip()
    if ref:
        return RedirectResponse(f"/verify/{ref}", status_code=303)
    return render(request, "certificates/verify_form.html", {"ref": ""})


def _counted_look_up(conn: Any, engine: Any, settings: Any, address: str) -> bool:
    """Count one verification look-up from `address`; False once over the minute's limit."""
    with write_lock(engine):
        return ratelimit.allow(
            conn,
            ratelimit.address_key("verify", address),
            limit=settings.verify_per_minute,
            per=MINUTE,
        )


@router.get("/verify/{ref:path}")
async def verify(request: Request, _user: OptionalUser, ref: str) -> Response:
    """Public: is this certificate valid? Shows only what verification needs. One thread-pool
    hop (count the look-up, find the certificate); the page is rendered once per certificate
    state and language (`ShellCache`)."""
    engine = request.app.state.engine
    settings = request.app.state.settings
    address = client_address(request)

    def work() -> tuple[bool, Certificate | None, Certificate | None]:
        # each statement is its own transaction: the count is one upsert, the rest reads
        with autocommit(engine) as conn:
            allowed = _counted_look_up(conn, engine, settings, address)
            if not allowed:
                return False, None, None
            return True, *service.find_for_verification(conn=conn, ref=ref)

    allowed, certificate, replacement = await run_in_threadpool(work)
    if not allowed:
        response = render(
            request, "certificates/verify_form.html", {"ref": ref, "limited": True}, status_code=429
        )
        response.headers["Retry-After"] = "60"
        return response
    if certificate is None:
        return render(
            request,
            "certificates/verify_form.html",
            {"ref": ref[:80], "not_found": True},
            status_code=404,
        )
    return _verdict(request, certificate, replacement, ref)


def _verdict(
    request: Request,
    certificate: Certificate,
    replacement: Certificate | None,
    ref: str,
    holder_check: str = "",
    status_code: int = 200,
) -> Response:
    """The verification page. Looked up by its public number, it shows that the certificate
    exists, its status, course and dates, never whose it is (numbers can be guessed); with
    the unguessable code (the QR) it shows the holder too. A verifier holding a paper copy
    without a usable QR types the holder's name or NIP beside the number: match / no match."""
    settings = request.app.state.settings
    by_code = ref.strip().upper() == certificate.code
    status = service.status(certificate)
    erased = certificate.holder_erased_at is not None  # the holder's account was erased
    context: dict[str, Any] = {
        "c": certificate,
        "status": status,
        "by_code": by_code,
        "nip": service.mask_nip(certificate.holder_nip) if by_code and not erased else "",
        "erased": erased,
        "replacement": replacement,
        "replacement_ref": (replacement.code if by_code else replacement.number)
        if replacement
        else "",
        "reissued": certificate.revoked_reason == service.REISSUED,
        "settings_issuer": settings.issuer_name,
        "ref": certificate.code if by_code else certificate.number,
        "holder_check": holder_check,
        # what the course certifies: its objectives at the version completed
        "objectives": _objectives(request, certificate),
    }
    key = (
        certificate.id,
        status,
        certificate.revoked_reason,
        replacement.code if replacement else None,
        request.state.user is not None,
        by_code,
        holder_check,
        erased,
    )
    response = request.app.state.shells.render(
        request, "certificates/verify.html", context, key=key, slots={}
    )
    response.status_code = status_code
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


HOLDER_CHECKS_PER_DAY = 20  # per certificate: a name or NIP cannot be guessed through it
HOLDER_CHECKS_PER_ADDRESS_DAY = 50  # per address: nobody walks the numbers with one name


@router.post("/verify/{ref:path}")
async def verify_holder(
    request: Request, _user: OptionalUser, ref: str, form: FormData
) -> Response:
    """Does this certificate belong to the person named? Answers match / no match only
    (counted per address like every look-up, and per certificate)."""
    engine = request.app.state.engine
    settings = request.app.state.settings
    address = client_address(request)

    def work() -> tuple[bool, Certificate | None, Certificate | None]:
        with autocommit(engine) as conn:
            allowed = _counted_look_up(conn, engine, settings, address)
            certificate, replacement = service.find_for_verification(conn=conn, ref=ref)
            if allowed and certificate is not None:
                with write_lock(engine):
                    # per certificate, and per address (one name tried on every number)
                    per_certificate = ratelimit.allow(
                        conn,
                        ratelimit.key("verify-holder", str(certificate.id)),
                        limit=HOLDER_CHECKS_PER_DAY,
                        per=timedelta(days=1),
                    )
                    per_address = ratelimit.allow(
                        conn,
                        ratelimit.address_key("verify-holder-ip", address),
                        limit=HOLDER_CHECKS_PER_ADDRESS_DAY,
                        per=timedelta(days=1),
                    )
                    allowed = per_certificate and per_address
            return allowed, certificate, replacement

    allowed, certificate, replacement = await run_in_threadpool(work)
    if certificate is None:
        return render(
            request,
            "certificates/verify_form.html",
            {"ref": ref[:80], "not_found": True},
            status_code=404,
        )
    if not allowed:
        return _verdict(request, certificate, replacement, ref, "limited", 429)
    given = form.get("holder", "")
    if certificate.holder_erased_at is not None:  # nothing personal to check against
        return _verdict(request, certificate, replacement, ref, "erased", 409)
    if not given.strip():
        return _verdict(request, certificate, replacement, ref, "empty", 422)
    matches = service.holder_matches(certificate, given)
    return _verdict(request, certificate, replacement, ref, "match" if matches else "no-match")


@router.get("/issuer", tags=["certificates"])
def issuer_profile(request: Request) -> JSONResponse:
    """The Open Badges issuer Profile that every credential names."""
    return JSONResponse(_issuer(request).profile(), headers=PUBLIC_CACHE)


@router.get("/.well-known/jwks.json", tags=["certificates"])
def jwks(session: SessionDep) -> JSONResponse:
    """Every public signing key, current and retired (old credentials keep verifying)."""
    return JSONResponse({"keys": keys.published(session=session)}, headers=PUBLIC_CACHE)


@router.get(
    "/keys/{kid}",
    tags=["certificates"],
    responses={
        200: {"content": {"application/jwk+json": {}}, "description": "The public key (JWK)."},
        404: {"description": "No key with this id."},
    },
)
def public_key(session: SessionDep, kid: str) -> Response:
    """One public signing key as a JWK: what the `kid` URI in a credential's header
    dereferences to (OB 3.0 §8.2). Never a private part."""
    found = keys.public(session=session, kid=kid)
    if found is None:
        return problem(404, "No key with this id.")
    return JSONResponse(found, media_type="application/jwk+json", headers=PUBLIC_CACHE)


@router.get(
    "/credentials/status/{list_id}",
    tags=["certificates"],
    responses={
        200: {
            "content": {"application/json": {}, "application/vc+jwt": {}},
            "description": "The status list credential (signed with `Accept: application/vc+jwt`).",
        },
        404: {"description": "No status list with this id."},
    },
)
def status_list(
    request: Request,
    session: SessionDep,
    list_id: Annotated[str, Path(examples=[credential.STATUS_LIST])],
) -> Response:
    """The Bitstring Status List of revocations (JSON; signed VC-JWT if asked for with
    `Accept: application/vc+jwt`)."""
    if list_id != credential.STATUS_LIST:
        return problem(404, "No status list with this id.")
    body = credential.status_list_credential(_issuer(request), service.revoked_ids(session=session))
    headers = {"Cache-Control": "public, max-age=60"}
    if "application/vc+jwt" in request.headers.get("accept", ""):
        signer = _key(request, session)
        signed = credential.sign(body, signer, request.app.state.settings.base_url)
        return Response(signed, media_type="application/vc+jwt", headers=headers)
    return JSONResponse(body, headers=headers)
