"""Form input and the CSRF check that guards every state-changing request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.datastructures import FormData as StarletteFormData

from app.errors import CsrfRefused
from app.security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_valid

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def csrf_protect(request: Request) -> None:
    """Refuse an unsafe request whose token (form field or header) does not match the cookie."""
    if request.method in SAFE_METHODS:
        return
    # Machines call the JSON API without our cookies (public endpoints, API tokens later) and
    # cannot hold a CSRF token; a request that carries no session cookie has no login for a
    # forged request to ride on. A browser with a session still needs the token, even there.
    if request.url.path.startswith("/api/") and SESSION_COOKIE not in request.cookies:
        return
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    secret = request.app.state.settings.secret_key
    if not csrf_valid(
        secret,
        request.state.csrf_cookie if hasattr(request.state, "csrf_cookie") else None,
        submitted,
    ):
        raise CsrfRefused


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form's text fields (files are ignored here)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormData = Annotated[dict[str, str], Depends(form_data)]


async def raw_form(request: Request) -> StarletteFormData:
    """The submitted form with repeated fields (checkboxes) kept."""
    return await request.form()


RawForm = Annotated[StarletteFormData, Depends(raw_form)]


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()  # browsers drop tabs and newlines: "/\t/x" would become "//x"
    ):
        return target
    return default


def client_address(request: Request) -> str:
    """The client's address (the proxy's X-Forwarded-For when uvicorn trusts it), for
    throttling and the audit trail."""
    return request.client.host if request.client else "unknown"


# A row id in a path: a number out of the databases' range is a 422 like any other malformed
# input, never an overflow deep in the driver (a 500). Row ids are INTEGER columns: PostgreSQL's
# is 32 bits, so 2147483648 is already out of range there.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def form_int(value: object, default: int = -1) -> int:
    """A whole number typed in a form that fits a row id or a counter (0 to MAX_ROW_ID), else
    `default`: never a value the database would overflow on."""
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 10:
        return default
    number = int(text)
    return number if number <= MAX_ROW_ID else default
