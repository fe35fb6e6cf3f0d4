"""Jinja rendering with i18n, the CSRF token, static URLs and htmx awareness."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app import i18n
from app.security import CSRF_FIELD, LANG_COOKIE, csrf_token
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


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a template in the visitor's language with the common context."""
    locale = request_locale(request)
    i18n.set_locale(locale)
    settings = request.app.state.settings
    full = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(settings.secret_key, request.state.csrf_cookie),
        "locale": locale,
        "htmx": is_htmx(request),
        **(context or {}),
    }
    html = request.app.state.templates.get_template(name).render(full)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Vary"] = "HX-Request, Cookie"
    response.headers.setdefault("Cache-Control", "private, no-cache")
    return response
