"""For HR and admins: the certificates of their agencies with filters, a ZIP of their PDFs;
for admins: one certificate's record and audit trail, revoke, re-issue."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlmodel import Session

from app import clock
from app.db import SessionDep
from app.forms import FormData, client_address
from app.templating import render
from modules.accounts import service as accounts_service
from modules.agencies import service as agencies_service
from modules.audit import service as audit_service
from modules.certificates import bulk, credential, pdf, service
from modules.certificates.dependencies import Admin, ManagedCertificate, Manager, ManagerScope
from modules.certificates.models import Certificate

router = APIRouter()


def _filters(request: Request, scope: ManagerScope) -> tuple[service.Filters, dict[str, str]]:
    filters, errors = service.parse_filters(dict(request.query_params))
    if filters.agency_id is not None and not scope.scope.allows_agency(filters.agency_id):
        raise HTTPException(403)  # another agency's people
    return filters, errors


@router.get("/manage/certificates")
def manage_list(request: Request, session: SessionDep, scope: Manager) -> Response:
    """Certificates of the manager's agencies, newest first, 50 a page."""
    filters, errors = _filters(request, scope)
    before_id = service.small_id(request.query_params.get("before") or "")
    rows, total = service.managed_page(
        session=session, scope=scope.scope, filters=filters, before_id=before_id
    )
    if rows:  # holders by name: a view of personal data, at the grain of the view
        audit_service.record(
            session=session,
            actor_id=scope.user.id,
            action="certificate.list",
            subject_type="certificate",
            subject_id="*",
            detail={"filters": filters.as_params(), "shown": len(rows)},
            address=client_address(request),
            covers=scope.scope.narrowed(filters.agency_id),
        )
        session.commit()
    agencies = [
        a for a in agencies_service.list_active(session=session) if scope.scope.allows_agency(a.id)
    ]
    courses = request.app.state.catalogue.courses()
    context = {
        "rows": [(c, service.status(c)) for c in rows],
        "total": total,
        "filters": filters,
        "errors": errors,
        "agencies": agencies,
        "courses": courses,
        "params": filters.as_params(),
        "next_before": rows[-1].id if len(rows) == 50 else None,
        "is_admin": scope.scope.everything,
    }
    return render(
        request, "certificates/manage_list.html", context, status_code=422 if errors else 200
    )


@router.get("/manage/certificates.zip")
def manage_zip(request: Request, session: SessionDep, scope: Manager) -> Response:
    """The PDFs of every certificate the filters select, as one streamed ZIP."""
    filters, errors = _filters(request, scope)
    if errors:
        return manage_list(request, session, scope)
    settings = request.app.state.settings
    _rows, total = service.managed_page(
        session=session, scope=scope.scope, filters=filters, limit=1
    )
    audit_service.record(
        session=session,
        actor_id=scope.user.id,
        action="certificate.bulk_download",
        subject_type="certificate",
        subject_id="*",
        detail={"filters": filters.as_params(), "count": total},
        address=client_address(request),
        covers=scope.scope.narrowed(filters.agency_id),
    )
    session.commit()
    engine = request.app.state.engine
    env = request.app.state.templates
    catalogue = request.app.state.catalogue
    issuer = credential.Issuer(settings.base_url.rstrip("/"), settings.issuer_name)

    def render_one(certificate: Certificate) -> bytes:
        view = catalogue.version(certificate.content_version_id)
        return pdf.render(
            env,
            certificate,
            verify_url=credential.verify_url(issuer.base_url, certificate),
            issuer_name=issuer.name,
            modules=[m.title for m in view.content.modules] if view else [],
            cache_dir=settings.certificate_cache_dir,
        )

    def chunks():
        # its own session: the response outlives the request's
        with Session(engine, expire_on_commit=False) as own:
            rows = service.managed_stream(session=own, scope=scope.scope, filters=filters)
            yield from bulk.zip_stream(rows, render_one)

    name = f"sertifikat-{clock.local_now(settings.tz):%Y%m%d-%H%M}.zip"
    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
            "X-Certificate-Count": str(total),
        },
    )


@router.get("/manage/certificates/{code}")
def manage_detail(
    request: Request, session: SessionDep, certificate: ManagedCertificate, admin: Admin
) -> Response:
    """One certificate for an admin: the record, what replaced it, the audit trail."""
    audit_service.record(
        session=session,
        actor_id=admin.id,
        action="certificate.view",
        subject_type="certificate",
        subject_id=certificate.number,
        address=client_address(request),
    )
    session.commit()
    return _detail(request, session, certificate)


def _detail(
    request: Request,
    session: SessionDep,
    certificate: Certificate,
    *,
    error: str | None = None,
    reason: str = "",
    status_code: int = 200,
) -> Response:
    context = {
        "c": certificate,
        "status": service.status(certificate),
        "replacement": service.replacement(session=session, certificate=certificate),
        "replaces": session.get(Certificate, certificate.replaces_id)
        if certificate.replaces_id
        else None,
        "events": audit_service.for_subject(
            session=session,
            subject_type="certificate",
            subject_id=certificate.number,
            names=lambda ids: accounts_service.names(session=session, user_ids=ids),
        ),
        "error": error,
        "reason": reason,
        "notice": request.query_params.get("done"),
    }
    return render(request, "certificates/manage_detail.html", context, status_code=status_code)


@router.post("/manage/certificates/{code}/revoke")
def manage_revoke(
    request: Request,
    session: SessionDep,
    certificate: ManagedCertificate,
    admin: Admin,
    form: FormData,
) -> Response:
    """Revoke with a reason; a refused reason comes back next to the field."""
    reason = form.get("reason", "")
    try:
        service.revoke(
            session=session,
            certificate=certificate,
            reason=reason,
            actor_id=admin.id,
            address=client_address(request),
            log=request.app.state.certificate_policy.log,
        )
    except service.CertificateError as exc:
        session.rollback()
        return _detail(
            request, session, certificate, error=str(exc), reason=reason[:500], status_code=422
        )
    return RedirectResponse(
        f"/manage/certificates/{certificate.code}?done=revoked", status_code=303
    )


@router.post("/manage/certificates/{code}/reissue")
def manage_reissue(
    request: Request, session: SessionDep, certificate: ManagedCertificate, admin: Admin
) -> Response:
    """Re-issue with the holder's current details; the old certificate points to the new."""
    try:
        new = service.reissue(
            session=session,
            certificate=certificate,
            policy=request.app.state.certificate_policy,
            actor_id=admin.id,
            address=client_address(request),
        )
    except service.CertificateError as exc:
        session.rollback()
        return _detail(request, session, certificate, error=str(exc), status_code=422)
    return RedirectResponse(f"/manage/certificates/{new.code}?done=reissued", status_code=303)
