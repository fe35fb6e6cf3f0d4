"""Error handling: friendly pages for people, RFC 9457 problem+json for the API."""

from __future__ import annotations

import logging
from http import HTTPStatus
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import N_
from app.observability import loggable_path

log = logging.getLogger("berakhlak")


DATABASE_DOWN = N_(
    "The database is not answering right now, so what you just sent may not have been saved. "
    "Wait a moment, reload the page and check before sending it again."
)


class LoginRequired(Exception):
    """Raised by dependencies when a page needs a logged-in user."""


class NoticeRequired(Exception):
    """Raised when a person must acknowledge the current privacy notice first."""


class CsrfRefused(Exception):
    """Raised when a state-changing request lacks a valid CSRF token."""


class ProblemError(Exception):
    """Raised by API code to answer with a problem+json document carrying extra members
    (e.g. `errors`), which HTTPException cannot."""

    def __init__(self, status: int, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra


TITLES = {
    400: N_("The request could not be understood."),
    401: N_("You need to identify yourself for this."),
    403: N_("You are not allowed to do this."),
    404: N_("We could not find that page."),
    405: N_("That action is not available here."),
    410: N_("This is no longer available."),
    413: N_("What you sent is too large."),
    422: N_("Some of what you sent is not valid."),
    429: N_("Too many attempts. Please wait a moment and try again."),
    500: N_("Something went wrong on our side. Please try again; if it happens again, tell us."),
    503: N_("This is not available right now. Please try again later."),
}


_KNOWN = {status.value for status in HTTPStatus}


def wants_json(request: Request) -> bool:
    """API clients get problem+json; browsers get a page."""
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def problem(status: int, detail: str, **extra: object) -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def error_page(request: Request, status: int, detail: str | None = None) -> Response:
    """A page (or problem+json) for an error status."""
    if wants_json(request):
        return problem(status, detail or TITLES.get(status, "Error"))
    from app.templating import render  # late: templating needs the app state

    return render(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, TITLES[500]), "detail": detail},
        status_code=status,
    )


def _same_site_page(request: Request) -> str:
    """The page a form was submitted from, if it is on this site; else the home page."""
    source = request.headers.get("hx-current-url") or request.headers.get("referer") or ""
    parts = urlsplit(source)
    if parts.netloc and parts.netloc != request.url.netloc:
        return "/"
    path = parts.path or "/"
    return path + (f"?{parts.query}" if parts.query else "") if path.startswith("/") else "/"


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            url = f"/login?next={quote(target)}"
        else:
            # A form sent after the session ended: come back to the page it was on, not to the
            # POST-only address, and say why the login is needed.
            url = f"/login?expired=1&next={quote(_same_site_page(request))}"
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(NoticeRequired)
    async def _notice(request: Request, _exc: NoticeRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = f"/privacy?next={quote(target)}"
        if request.headers.get("hx-request") == "true":  # a fragment: the whole page goes
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused) -> Response:
        response = error_page(
            request,
            403,
            N_(
                "This form has expired or was not sent from our site. "
                "Reload the page and try again."
            ),
        )
        if request.headers.get("hx-request") == "true":
            response.headers["HX-Refresh"] = "true"  # htmx reloads the page with a fresh token
        return response

    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, exc: ProblemError) -> Response:
        return problem(exc.status, exc.detail, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in _KNOWN else None
        # Starlette's default detail is the English status phrase; our own details are
        # message ids translated on the page.
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
        response = error_page(request, exc.status_code, detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if wants_json(request):
            errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            # name what to change: "query parameter limit", "body field credential"
            where = {"query": "query parameter", "body": "body field", "path": "path parameter"}
            names = [
                f"{where.get(str(e['loc'][0]), e['loc'][0])} "
                + ".".join(str(p) for p in e["loc"][1:])
                for e in exc.errors()
                if len(e["loc"]) > 1
            ]
            detail = "The request body or parameters are not valid"
            detail += f": {', '.join(dict.fromkeys(names))}." if names else "."
            return problem(422, detail, errors=errors)
        return error_page(request, 400)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(request: Request, exc: Exception) -> Response:
        # the database did not answer (refused, timed out, busy, interrupted): nothing may be
        # claimed as saved
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            loggable_path(request.url.path),
            type(exc).__name__,
        )
        response = error_page(request, 503, DATABASE_DOWN)
        response.headers["Retry-After"] = "10"
        return response

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, loggable_path(request.url.path))
        return error_page(request, 500)
