"""Jinja rendering with i18n, the CSRF token, static URLs and htmx awareness."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from app import i18n
from app.security import CSRF_FIELD, LANG_COOKIE, csrf_token, user_tag
from app.settings import ROOT

TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@lru_cache(maxsize=64)
def _file_version(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]
    except OSError:
        return "missing"


def static_url(name: str) -> str:
    """URL of a static file with a content hash, so browsers may cache it for a year."""
    return f"/static/{name}?v={_file_version(str(STATIC_DIR / name))}"


def make_environment() -> Environment:
    """The Jinja environment shared by every module's templates."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        static_url=static_url,
        format_day=i18n.format_day,
        format_time=i18n.format_time,
        format_month=i18n.format_month,
        format_number=i18n.format_number,
        format_percent=i18n.format_percent,
        format_fixed=i18n.format_fixed,
        format_signed=i18n.format_signed,
        LOCALE_NAMES=i18n.LOCALE_NAMES,
        CSRF_FIELD=CSRF_FIELD,
    )
    return env


def is_htmx(request: Request) -> bool:
    """True when htmx sent the request and wants a fragment."""
    return request.headers.get("hx-request") == "true"


def request_locale(request: Request) -> str:
    """The visitor's chosen language, else their profile's, else the site default."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in i18n.LOCALES:
        return chosen
    user = getattr(request.state, "user", None)
    if user is not None and user.locale in i18n.LOCALES:
        return str(user.locale)
    return str(request.app.state.settings.default_locale)


def _user_tag(request: Request) -> str | None:
    """The person's tag for the offline queue; None when this request did not look at who is
    logged in (such a page says nothing about it, so the device keeps what it has)."""
    if not hasattr(request.state, "user"):
        return None
    user = request.state.user
    return user_tag(request.app.state.settings.secret_key, user.id if user else None)


def _context(
    request: Request,
    context: Mapping[str, Any] | None,
    csrf: str | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    locale = request_locale(request)
    i18n.set_locale(locale)
    settings = request.app.state.settings
    return {
        "request": request,
        "user": getattr(request.state, "user", None),
        "user_tag": _user_tag(request) if tag is None else tag,
        "csrf_token": csrf or csrf_token(settings.secret_key, request.state.csrf_cookie),
        "locale": locale,
        "htmx": is_htmx(request),
        **(context or {}),
    }


def _response(html: str, status_code: int, headers: Mapping[str, str] | None) -> HTMLResponse:
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Vary"] = "HX-Request, Cookie"
    response.headers.setdefault("Cache-Control", "private, no-cache")
    return response


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a template in the visitor's language with the common context."""
    html = request.app.state.templates.get_template(name).render(_context(request, context))
    return _response(html, status_code, headers)


CSRF_SLOT = "bk-slot-csrf-5f1c"
USER_SLOT = "bk-slot-user-5f1c"
NEXT_SLOT = "bk-slot-next-5f1c"


class ShellCache:
    """Pages whose only personal parts are the CSRF token and a few fragments are rendered once
    per key (e.g. content version, lesson, language) with markers, then filled per request
    by string replacement: the heavy template work leaves the hot path."""

    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        self._shells: dict[tuple[Any, ...], str] = {}

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        key: tuple[Any, ...],
        slots: Mapping[str, str],
    ) -> HTMLResponse:
        """Render `name` with `context`; each slot (a context name) is filled with its HTML."""
        locale = request_locale(request)
        full_key = (name, locale, *key)
        shell = self._shells.get(full_key)
        if shell is None:
            # Slot names come from our code, never from input, so the markers are safe HTML.
            markers = {slot: Markup(f"bk-slot-{slot}-5f1c") for slot in slots}  # noqa: S704
            # The address the language switch returns to is this request's, never the one
            # that happened to render the shell first.
            markers["next_url"] = Markup(NEXT_SLOT)  # noqa: S704
            shell = request.app.state.templates.get_template(name).render(
                _context(request, {**context, **markers}, csrf=CSRF_SLOT, tag=USER_SLOT)
            )
            if len(self._shells) >= self.max_entries:
                self._shells.clear()
            self._shells[full_key] = shell
        else:
            i18n.set_locale(locale)
        for slot, fragment in slots.items():
            shell = shell.replace(f"bk-slot-{slot}-5f1c", fragment)
        settings = request.app.state.settings
        html = shell.replace(CSRF_SLOT, csrf_token(settings.secret_key, request.state.csrf_cookie))
        html = html.replace(USER_SLOT, _user_tag(request) or "")
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        html = html.replace(NEXT_SLOT, str(escape(here)))
        return _response(html, 200, None)

    def fragment(
        self,
        request: Request,
        name: str,
        context: Callable[[], Mapping[str, Any]],
        *,
        key: tuple[Any, ...],
    ) -> str:
        """A cached fragment for a slot; its CSRF marker is filled in by `render`."""
        full_key = (name, request_locale(request), *key)
        html = self._shells.get(full_key)
        if html is None:
            html = request.app.state.templates.get_template(name).render(
                _context(request, context(), csrf=CSRF_SLOT, tag=USER_SLOT)
            )
            if len(self._shells) >= self.max_entries:
                self._shells.clear()
            self._shells[full_key] = html
        return html
