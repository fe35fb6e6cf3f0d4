"""Pages: register, login, logout, profile, password (and its reset by mail) and language."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app import clock, i18n, privacy
from app.auth import CurrentUser, OptionalUser
from app.db import SessionDep
from app.errors import problem
from app.forms import FormData, client_address, safe_next
from app.i18n import LOCALES, N_, tr
from app.security import CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE, new_token, session_cookie
from app.templating import is_htmx, render
from modules.accounts import invitations, moves, service
from modules.accounts.nip import PNS_GRADES, PPPK_GRADES
from modules.accounts.schemas import FormError, parse_profile, parse_registration
from modules.agencies import service as agencies_service
from modules.audit import service as audit_service

router = APIRouter()


def _form_page(
    request: Request,
    session: SessionDep,
    name: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    **extra: object,
) -> Response:
    status = 422 if errors or extra.get("pw_errors") else 200
    context = {
        "values": values,
        "errors": errors or {},
        "pns_grades": PNS_GRADES,
        "pppk_grades": PPPK_GRADES,
        "agencies": agencies_service.list_active(session=session),
        "agency_choices": (),
        **extra,
    }
    return render(request, name, context, status_code=status)


def _agency_input(
    form: dict[str, str], agencies: list[Any]
) -> tuple[dict[str, str], agencies_service.AgencyLookup]:
    """The form with `agency_id` set from the agency typed in its `agency` box (or chosen
    among the candidates offered, or sent as an id by a script), and the lookup behind it."""
    found = agencies_service.pick(
        agencies, text=form.get("agency", ""), agency_id=form.get("agency_id", "")
    )
    data = dict(form)
    data["agency_id"] = str(found.agency.id) if found.agency else ""
    return data, found


def _agency_values(
    values: dict[str, str], found: agencies_service.AgencyLookup, errors: dict[str, str]
) -> dict[str, Any]:
    """What the form shows again for the agency: the resolved agency's full name in the box,
    or what was typed with the reason it names none and the candidates to choose from."""
    if found.agency is not None:
        values["agency"] = found.agency.name
    elif "agency" in errors:
        errors["agency"] = found.problem(values.get("agency", "")) or errors["agency"]
    values.pop("agency_id", None)
    return {"agency_choices": found.candidates if "agency" in errors else ()}


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Start the browser's session, and give it a fresh CSRF cookie (tokens seen before the
    login stop working)."""
    settings = request.app.state.settings
    response.set_cookie(
        CSRF_COOKIE,
        new_token(),
        max_age=365 * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    response.headers.append(
        "set-cookie",
        session_cookie(token, days=settings.session_days, secure=settings.secure_cookies),
    )


def _redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/register")
def register_page(
    request: Request, session: SessionDep, user: OptionalUser, next: str = ""
) -> Response:
    if user:
        return RedirectResponse(safe_next(next, "/me/learning"), status_code=303)
    return _form_page(request, session, "accounts/register.html", {"next": next})


PRIVACY_UNTICKED = N_("Read the privacy notice and tick the box to go on.")


@router.post("/register")
def register(request: Request, session: SessionDep, form: FormData, _u: OptionalUser) -> Response:
    agencies = agencies_service.list_active(session=session)
    agency_names = {a.id: a.name for a in agencies if a.id}
    agency_ids = set(agency_names)
    values = {k: v for k, v in form.items() if "password" not in k}
    settings = request.app.state.settings
    address = client_address(request)
    if not service.registration_allowed(
        session=session, address=address, per_hour=settings.registrations_per_hour
    ):
        errors = {"form": N_("Too many registrations from your network. Try again in an hour.")}
        response = _form_page(request, session, "accounts/register.html", values, errors)
        response.status_code = 429
        return response
    acknowledged = form.get("privacy") == "yes"
    typed, found = _agency_input(form, agencies)
    try:
        try:
            data = parse_registration(
                typed, agency_ids, today=clock.today(settings.tz), agency_names=agency_names
            )
        except FormError as exc:
            if not acknowledged:
                exc.errors["privacy"] = PRIVACY_UNTICKED
            raise
        if not acknowledged:
            raise FormError({"privacy": PRIVACY_UNTICKED})
        required = settings.email_verification == "required"
        user = service.register(
            session=session,
            data=data,
            verified=not required,
            settings=settings,
            address=address,
            privacy_version=request.app.state.privacy_version,
        )
    except FormError as exc:
        choices = _agency_values(values, found, exc.errors)
        return _form_page(request, session, "accounts/register.html", values, exc.errors, **choices)
    except service.InvitationMailed as mailed:
        return render(request, "accounts/invitation_mailed.html", {"sent": mailed.sent})
    if required:
        service.send_verification(session=session, settings=settings, user=user, address=address)
    token = service.start_session(
        session=session,
        user=user,
        days=request.app.state.settings.session_days,
        user_agent=request.headers.get("user-agent", ""),
    )
    response = _redirect(request, safe_next(form.get("next"), "/me/learning"))
    _set_session_cookie(request, response, token)
    return response


@router.get("/login")
def login_page(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    next: str = "",
    expired: str = "",
    reset: str = "",
) -> Response:
    if user:
        return RedirectResponse(safe_next(next, "/me/learning"), status_code=303)
    return render(
        request,
        "accounts/login.html",
        {"values": {"next": next}, "errors": {}, "expired": bool(expired), "reset": bool(reset)},
    )


@router.post("/login")
def login(request: Request, session: SessionDep, form: FormData, _u: OptionalUser) -> Response:
    settings = request.app.state.settings
    identifier = form.get("identifier", "")
    values = {"identifier": identifier, "next": form.get("next", "")}
    if not identifier.strip() or not form.get("password"):
        errors = {"form": N_("Enter your NIP or email and your password.")}
        return render(
            request, "accounts/login.html", {"values": values, "errors": errors}, status_code=422
        )
    result = service.authenticate(
        session=session,
        identifier=identifier,
        password=form.get("password", ""),
        address=client_address(request),
        max_failures=settings.login_max_failures,
        lockout_minutes=settings.login_lockout_minutes,
    )
    if result.user is None:
        status, message = (
            (429, N_("Too many failed attempts. Wait %(minutes)s minutes, then try again."))
            if result.locked
            else (422, N_("The NIP/email or password is not correct."))
        )
        headers = {"Retry-After": str(settings.login_lockout_minutes * 60)} if result.locked else {}
        return render(
            request,
            "accounts/login.html",
            {
                "values": values,
                "errors": {"form": message},
                "lockout_minutes": settings.login_lockout_minutes,
            },
            status_code=status,
            headers=headers,
        )
    if settings.email_verification == "required" and result.user.email_verified_at is None:
        # an account from before verification, or whose link ran out: one mail a day at most
        service.send_verification(
            session=session,
            settings=settings,
            user=result.user,
            address=client_address(request),
            unless_recent=True,
        )
    token = service.start_session(
        session=session,
        user=result.user,
        days=settings.session_days,
        user_agent=request.headers.get("user-agent", ""),
    )
    response = _redirect(request, safe_next(form.get("next"), "/me/learning"))
    _set_session_cookie(request, response, token)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.end_session(session=session, token=token)
    response = _redirect(request, "/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    # a shared phone: the pages kept for offline reading and the queue of what waits to be
    # sent go with the login (the page asked first when something was still waiting)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def _profile_values(session: Session, record: Any) -> dict[str, str]:
    """The profile form's fields as stored, the agency by the name its box takes."""
    values = {
        k: str(getattr(record, k)) for k in ("name", "email", "work_unit", "position", "grade")
    }
    agency = agencies_service.get(session=session, agency_id=record.agency_id)
    values["agency"] = agency.name if agency else ""
    return values


@router.get("/me/profile")
def profile_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    record = service.get(session=session, user_id=user.id)
    values = _profile_values(session, record)
    saved = request.query_params.get("saved")
    roles = service.roles_of(session=session, user_id=user.id)
    return _form_page(
        request,
        session,
        "accounts/profile.html",
        values,
        saved=saved,
        pw_errors={},
        roles=roles,
        verified=record.email_verified_at is not None,
        reminders=record.reminders,
        move=moves.pending(session=session, user_id=user.id),
        agency_names={a.id: a.name for a in agencies_service.list_active(session=session)},
    )


@router.post("/me/profile")
def profile_save(
    request: Request, session: SessionDep, user: CurrentUser, form: FormData
) -> Response:
    agencies = agencies_service.list_active(session=session)
    agency_ids = {a.id for a in agencies if a.id}
    typed, found = _agency_input(form, agencies)
    try:
        data = parse_profile(typed, user.employment_type, agency_ids)
        flags = service.update_profile(
            session=session,
            user=service.get(session=session, user_id=user.id),
            data=data,
            settings=request.app.state.settings,
            address=client_address(request),
        )
    except FormError as exc:
        values = dict(form)
        choices = _agency_values(values, found, exc.errors)
        return _form_page(
            request,
            session,
            "accounts/profile.html",
            values,
            exc.errors,
            saved=None,
            pw_errors={},
            reminders=service.get(session=session, user_id=user.id).reminders,
            **choices,
        )
    saved = (
        "email-pending" if "email" in flags else "move-pending" if "move" in flags else "profile"
    )
    return RedirectResponse(f"/me/profile?saved={saved}", status_code=303)


def _personal_document(request: Request, session: Session, user: Any) -> dict[str, Any]:
    """All the platform keeps about the person (UU 27/2022): each module contributes its
    part, listed by the composition root (app/main.py)."""
    document: dict[str, Any] = {"exported_at": clock.utcnow().isoformat()}
    for name, section, _tables in request.app.state.personal_data:
        document[name] = section(session=session, user_id=user.id, nip=user.nip)
    return document


# headings and names of the download's parts, for the readable page (others show as stored)
DATA_LABELS = {
    "nip": N_("NIP"),
    "employment_type": N_("Employee type"),
    "name": N_("Name"),
    "email": N_("Email"),
    "email_confirmed_at": N_("Email confirmed"),
    "work_unit": N_("Work unit"),
    "position": N_("Position"),
    "grade": N_("Grade"),
    "language": N_("Language"),
    "reminders_by_mail": N_("Reminders by mail"),
    "active": N_("Active"),
    "registered_at": N_("Registered"),
    "roster_listing": N_("Your agency's roster"),
    "agency": N_("Agency"),
    "privacy_notice_acknowledged": N_("Privacy notice read"),
    "roles": N_("Roles"),
    "roles_granted_to_others": N_("Roles you granted"),
    "sessions": N_("Logins"),
    "api_tokens": N_("API tokens"),
    "mailed_links": N_("Links mailed to you"),
    "roster_uploads": N_("Rosters you uploaded"),
    "nip_disputes_about_this_account": N_("NIP disputes about your account"),
    "nip_disputes_decided": N_("NIP disputes you decided"),
    "move_requests": N_("Your requests to move to another agency or unit"),
    "move_requests_decided": N_("Move requests you decided"),
    "erasure_requests": N_("Your requests to erase your account"),
    "erasure_requests_decided": N_("Erasure requests you decided"),
    "enrollments": N_("Courses started"),
    "lessons_done": N_("Lessons done"),
    "course_completions": N_("Courses completed"),
    "assignments": N_("Courses assigned to you"),
    "learning_events": N_("Steps reached"),
    "due_date_reminders_sent": N_("Due-date reminders sent"),
    "assignments_made_as_hr": N_("Courses you assigned as HR"),
    "attempts": N_("Quiz attempts"),
    "certificates": N_("Certificates"),
    "exports": N_("Exports"),
    "mail": N_("Mail"),
    "done_by_you": N_("What you did"),
    "about_you": N_("Events about you"),
    "in_reports": N_("Reports that could show you"),
}

# the parts of the download, for the readable page
DATA_SECTIONS = {
    "account": N_("Your account"),
    "learning": N_("Your learning"),
    "quizzes": N_("Your quiz attempts and answers"),
    "certificates": N_("Your certificates"),
    "exports": N_("Exports you started"),
    "mail": N_("Mail sent to you"),
    "audit": N_("The audit trail"),
}


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _shown(value: Any) -> str:
    """One stored value as a person reads it: times in the site's zone and locale."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return tr("yes") if value else tr("no")
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return i18n.format_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    return str(value)


def _split(value: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """A part's plain values, and its tables and sub-parts (shown under their own heading)."""
    flat: list[Any] = []
    nested: list[Any] = []
    for key, inner in value.items():
        deep = isinstance(inner, dict) or (
            isinstance(inner, list) and (not inner or isinstance(inner[0], dict))
        )
        (nested if deep else flat).append((key, inner))
    return flat, nested


def _columns(rows: list[Any]) -> list[str]:
    """The columns of a table of records: every key any row has, in first-seen order."""
    return list(dict.fromkeys(k for row in rows if isinstance(row, dict) for k in row))


@router.get("/me/data")
def personal_data_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The same document as the download, to read: first who viewed or changed the
    person's records, then every part."""
    document = _personal_document(request, session, user)
    audit = document.get("audit", {})
    context = {
        "document": document,
        "sections": [(k, DATA_SECTIONS.get(k, k), document[k]) for k in list(document)[1:]],
        "about_you": [e for e in audit.get("about_you", []) if e.get("actor_id") != user.id],
        "in_reports": audit.get("in_reports", []),
        "labels": audit_service.ACTION_LABELS,
        "shown": _shown,
        "split": _split,
        "columns": _columns,
        "label": lambda key: tr(DATA_LABELS[key]) if key in DATA_LABELS else key,
    }
    response = render(request, "accounts/my_data.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/me/data.json")
def personal_data(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The person's data as one JSON document to keep or take elsewhere."""
    body = json.dumps(_personal_document(request, session, user), ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="berakhlak-data-{user.nip}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/me/password")
def password_save(
    request: Request, session: SessionDep, user: CurrentUser, form: FormData
) -> Response:
    try:
        record = service.get(session=session, user_id=user.id)
        service.change_password(
            session=session,
            user=record,
            current=form.get("current_password", ""),
            new=form.get("new_password", ""),
            confirm=form.get("new_password_confirm", ""),
            keep_token=request.cookies.get(SESSION_COOKIE),
        )
    except FormError as exc:
        values = _profile_values(session, record)
        return _form_page(
            request,
            session,
            "accounts/profile.html",
            values,
            None,
            saved=None,
            pw_errors=exc.errors,
            reminders=record.reminders,
        )
    return RedirectResponse("/me/profile?saved=password", status_code=303)


@router.post("/lang")
def switch_language(
    request: Request, session: SessionDep, user: OptionalUser, form: FormData
) -> Response:
    locale = form.get("locale", "")
    target = safe_next(form.get("next"), "/")
    response = RedirectResponse(target, status_code=303)
    if locale in LOCALES:
        response.set_cookie(
            LANG_COOKIE,
            locale,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/",
        )
        if user:
            service.set_locale(
                session=session, user=service.get(session=session, user_id=user.id), locale=locale
            )
    return response


# ---- self-service password reset ------------------------------------------------------------


@router.get("/forgot-password")
def forgot_password_page(request: Request) -> Response:
    return render(request, "accounts/forgot_password.html", {"values": {}, "errors": {}})


@router.post("/forgot-password")
def forgot_password(request: Request, session: SessionDep, form: FormData) -> Response:
    """Mail a reset link if the NIP or email has an account; the same answer either way."""
    identifier = form.get("identifier", "")
    if not identifier.strip():
        errors = {"identifier": N_("Enter your NIP or email.")}
        return render(
            request,
            "accounts/forgot_password.html",
            {"values": {}, "errors": errors},
            status_code=422,
        )
    service.request_reset(
        session=session,
        settings=request.app.state.settings,
        identifier=identifier,
        address=client_address(request),
    )
    return render(
        request, "accounts/forgot_password.html", {"sent": True, "values": {}, "errors": {}}
    )


def _link_gone(request: Request, retry: str = "/forgot-password") -> Response:
    return render(request, "accounts/link_invalid.html", {"retry": retry}, status_code=410)


@router.get("/reset-password/{token}")
def reset_password_page(request: Request, session: SessionDep, token: str) -> Response:
    """The form for a new password, if the link still works (looking does not use it)."""
    if service.reset_link_user(session=session, token=token) is None:
        return _link_gone(request)
    return render(
        request, "accounts/reset_password.html", {"token": token, "errors": {}, "values": {}}
    )


@router.post("/reset-password/{token}")
def reset_password(request: Request, session: SessionDep, form: FormData, token: str) -> Response:
    try:
        service.reset_by_link(
            session=session,
            token=token,
            new=form.get("password", ""),
            confirm=form.get("password_confirm", ""),
            address=client_address(request),
        )
    except service.LinkInvalid:
        return _link_gone(request)
    except FormError as exc:
        return render(
            request,
            "accounts/reset_password.html",
            {"token": token, "errors": exc.errors, "values": {}},
            status_code=422,
        )
    response = RedirectResponse("/login?reset=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")  # every session ended, this one too
    return response


# ---- a new email, confirmed from the new address -------------------------------------------


@router.get("/confirm-email/{token}")
def confirm_email_page(request: Request, session: SessionDep, token: str) -> Response:
    """Asks to confirm the new address (looking does not use the link: mail scanners open
    links)."""
    new_email = service.email_link_address(session=session, token=token)
    if new_email is None:
        return _link_gone(request, retry="/me/profile")
    return render(request, "accounts/confirm_email.html", {"token": token, "new_email": new_email})


@router.post("/confirm-email/{token}")
def confirm_email(request: Request, session: SessionDep, token: str, _form: FormData) -> Response:
    try:
        service.confirm_email(
            session=session,
            token=token,
            address=client_address(request),
        )
    except service.LinkInvalid:
        return _link_gone(request, retry="/me/profile")
    return RedirectResponse("/me/profile?saved=email", status_code=303)


# ---- the address of a new account, verified ------------------------------------------------


@router.get("/verify-email/{token}")
def verify_email_page(request: Request, session: SessionDep, token: str) -> Response:
    """Asks to confirm the address (looking does not use the link: mail scanners open it)."""
    user = service.verification_link_user(session=session, token=token)
    if user is None:
        return _link_gone(request, retry="/me/profile")
    return render(request, "accounts/verify_email.html", {"token": token, "email": user.email})


@router.post("/verify-email/{token}")
def verify_email(request: Request, session: SessionDep, token: str, _form: FormData) -> Response:
    try:
        service.verify_email(
            session=session,
            token=token,
            address=client_address(request),
        )
    except service.LinkInvalid:
        return _link_gone(request, retry="/me/profile")
    return RedirectResponse("/me/profile?saved=verified", status_code=303)


@router.post("/me/verify-email")
def verification_again(
    request: Request, session: SessionDep, user: CurrentUser, _form: FormData
) -> Response:
    """Send the confirmation link again (limited per account and address)."""
    record = service.get(session=session, user_id=user.id)
    sent = service.send_verification(
        session=session,
        settings=request.app.state.settings,
        user=record,
        address=client_address(request),
    )
    return RedirectResponse(
        f"/me/profile?saved={'verification-sent' if sent else 'verification-later'}",
        status_code=303,
    )


# ---- an account a roster made, claimed through its invitation -------------------------------


@router.get("/claim/{token}")
def claim_page(request: Request, session: SessionDep, token: str) -> Response:
    """The form for the password of an invited account (looking does not use the link)."""
    user = invitations.invited_user(session=session, token=token)
    if user is None:
        return _link_gone(request, retry="/register")
    return render(
        request,
        "accounts/claim.html",
        {"token": token, "person": user, "errors": {}, "values": {}},
    )


@router.post("/claim/{token}")
def claim(request: Request, session: SessionDep, form: FormData, token: str) -> Response:
    try:
        if form.get("privacy") != "yes":  # checked before the link is used
            if invitations.invited_user(session=session, token=token) is None:
                raise service.LinkInvalid
            raise FormError({"privacy": PRIVACY_UNTICKED})
        user = service.claim_invitation(
            session=session,
            token=token,
            password=form.get("password", ""),
            confirm=form.get("password_confirm", ""),
            address=client_address(request),
        )
    except service.LinkInvalid:
        return _link_gone(request, retry="/register")
    except FormError as exc:
        person = invitations.invited_user(session=session, token=token)
        return render(
            request,
            "accounts/claim.html",
            {"token": token, "person": person, "errors": exc.errors, "values": {}},
            status_code=422,
        )
    service.acknowledge_privacy(
        session=session, user_id=user.id or 0, version=request.app.state.privacy_version
    )
    session_token = service.start_session(
        session=session,
        user=user,
        days=request.app.state.settings.session_days,
        user_agent=request.headers.get("user-agent", ""),
    )
    response = RedirectResponse("/me/learning", status_code=303)
    _set_session_cookie(request, response, session_token)
    return response


# ---- due-date reminders: leaving them without logging in (RFC 8058) --------------------------


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, session: SessionDep, token: str) -> Response:
    """Asks to stop the reminders (looking changes nothing: mail scanners open links)."""
    secret = request.app.state.settings.secret_key
    user = service.unsubscribe_user(session=session, secret=secret, token=token)
    if user is None:
        return render(request, "accounts/unsubscribe.html", {"unknown": True}, status_code=404)
    return render(request, "accounts/unsubscribe.html", {"token": token, "person": user})


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, session: SessionDep, token: str, _form: FormData) -> Response:
    secret = request.app.state.settings.secret_key
    user = service.unsubscribe_user(session=session, secret=secret, token=token)
    if user is None:
        return render(request, "accounts/unsubscribe.html", {"unknown": True}, status_code=404)
    service.set_reminders(
        session=session, user=user, on=False, address=client_address(request), how="link"
    )
    return render(request, "accounts/unsubscribe.html", {"done": True, "person": user})


@router.post(
    "/api/unsubscribe/{token}",
    status_code=204,
    tags=["mail"],
    responses={404: {"description": "A token that is not one of ours."}},
)
def unsubscribe_one_click(request: Request, session: SessionDep, token: str) -> Response:
    """RFC 8058 one-click: a mail program posts `List-Unsubscribe=One-Click` here, without
    cookies; the token is the authority."""
    secret = request.app.state.settings.secret_key
    user = service.unsubscribe_user(session=session, secret=secret, token=token)
    if user is None:
        return problem(404, "A token that is not one of ours.")
    service.set_reminders(
        session=session, user=user, on=False, address=client_address(request), how="one-click"
    )
    return Response(status_code=204)


@router.post("/me/reminders")
def reminders_save(
    request: Request, session: SessionDep, user: CurrentUser, form: FormData
) -> Response:
    record = service.get(session=session, user_id=user.id)
    service.set_reminders(
        session=session,
        user=record,
        on=form.get("reminders") == "on",
        address=client_address(request),
        how="profile",
    )
    return RedirectResponse("/me/profile?saved=reminders", status_code=303)


# ---- the person's logins ---------------------------------------------------------------------

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def _device(user_agent: str) -> str:
    """A browser's own description, shortened to what a person recognises."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    return " · ".join(part for part in (browser, system) if part)


@router.get("/me/sessions")
def sessions_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Where the person is logged in, with a way to end each other login."""
    current = service.current_session_id(request.cookies.get(SESSION_COOKIE))
    rows = [
        {
            "id": s.id,
            "device": _device(s.user_agent),
            "agent": s.user_agent,
            "created_at": s.created_at,
            "last_seen_at": s.last_seen_at,
            "current": s.id == current,
        }
        for s in service.sessions_of(session=session, user_id=user.id)
    ]
    ended = request.query_params.get("ended", "")
    count = int(ended) if ended.isascii() and ended.isdigit() and len(ended) < 4 else 0
    return render(request, "accounts/sessions.html", {"sessions": rows, "ended": count})


@router.post("/me/sessions")
def sessions_end(
    request: Request, session: SessionDep, user: CurrentUser, form: FormData
) -> Response:
    """End one other login (`session` = its id) or every other one (`session` = `others`)."""
    current = service.current_session_id(request.cookies.get(SESSION_COOKIE))
    chosen = form.get("session", "")
    ended = service.end_sessions(
        session=session,
        user=user,
        keep=current,
        only=None if chosen == "others" else chosen[:64],
        address=client_address(request),
    )
    return RedirectResponse(f"/me/sessions?ended={ended}", status_code=303)


@router.get("/privacy")
def privacy_notice(request: Request, user: OptionalUser, next: str = "") -> Response:
    """The privacy notice, public; a logged-in person who has not acknowledged this version
    is asked to (and is brought here before any other page until they do)."""
    settings = request.app.state.settings
    current = request.app.state.privacy_version
    context = {
        "controller": privacy.controller(settings),
        "settings": settings,
        "notice_date": date.fromisoformat(privacy.NOTICE_DATE),
        "ask": user is not None and user.privacy_version != current,
        "changed": user is not None and user.privacy_version not in (None, current),
        "next": safe_next(next, "/me/learning"),
    }
    return render(request, "privacy.html", context)


@router.post("/privacy")
def privacy_acknowledge(
    request: Request, session: SessionDep, user: CurrentUser, form: FormData
) -> Response:
    """The person acknowledges the current notice (recorded with the time, in their data)."""
    service.acknowledge_privacy(
        session=session, user_id=user.id, version=request.app.state.privacy_version
    )
    return RedirectResponse(safe_next(form.get("next"), "/me/learning"), status_code=303)


@router.post("/me/move/withdraw")
def move_withdraw(
    request: Request, session: SessionDep, user: CurrentUser, _f: FormData
) -> Response:
    """The person withdraws a move still waiting for HR."""
    moves.withdraw(session=session, user_id=user.id)
    return RedirectResponse("/me/profile", status_code=303)
