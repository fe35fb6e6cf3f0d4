"""Pure ASGI middleware: security headers, the CSRF cookie, and the request body limit."""

from __future__ import annotations

import json
import re

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n
from app.security import CSRF_COOKIE, SECURITY_HEADERS, new_token


class _BodyTooLarge(Exception):
    pass


def _cookie(scope: Scope, name: str) -> str | None:
    # Starlette's lenient parser: one malformed cookie from a sibling site must not hide ours.
    for key, value in scope["headers"]:
        if key == b"cookie":
            found = cookie_parser(value.decode("latin-1")).get(name)
            if found:
                return found
    return None


class PlatformMiddleware:
    """Adds security headers, issues the CSRF cookie, and refuses oversized bodies with 413."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        secure_cookies: bool,
        upload_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # paths that take a file upload (a pattern the whole path matches -> its larger
        # limit), e.g. a roster, a course archive
        self.upload_limits = [(re.compile(k), v) for k, v in (upload_limits or {}).items()]
        self.secure = "; Secure" if secure_cookies else ""
        self.hsts = secure_cookies  # the site is served over HTTPS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        csrf_cookie = _cookie(scope, CSRF_COOKIE)
        new_cookie = None
        if not csrf_cookie or len(csrf_cookie) < 20:
            csrf_cookie = new_cookie = new_token()
        state["csrf_cookie"] = csrf_cookie

        limit = self.max_body_bytes
        if scope["method"] == "POST":
            for pattern, larger in self.upload_limits:
                if pattern.fullmatch(scope["path"]):
                    limit = max(limit, larger)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._too_large(send, scope, limit)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                # a response may set a stricter one (a page reached by a secret link: no referrer)
                own = {key.lower() for key, _value in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in own)
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                for extra in state.get("set_cookies", ()):  # e.g. a session that slid forward
                    headers.append((b"set-cookie", extra.encode()))
                if new_cookie:
                    cookie = (
                        f"{CSRF_COOKIE}={new_cookie}; Path=/; HttpOnly; SameSite=Lax"
                        f"; Max-Age=31536000{self.secure}"
                    )
                    headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send, scope, limit)

    async def _too_large(self, send: Send, scope: Scope, limit: int) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"")
        if not scope["path"].startswith("/api/") and b"text/html" in accept:
            await self._send_413(send, b"text/html; charset=utf-8", self._page(limit))
            return
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Content Too Large",
                "status": 413,
                "detail": (f"The request body is larger than the limit of {limit} bytes."),
            }
        ).encode()
        await self._send_413(send, b"application/problem+json", body)

    @staticmethod
    def _page(limit_bytes: int) -> bytes:
        """Browsers get a short page (in both languages: the request was never read, so the
        visitor's language is not known here)."""
        megabytes = limit_bytes / 1_000_000
        with i18n.using_locale("id"):
            batas = i18n.format_number(megabytes, places=1)  # 1,5 MB
        with i18n.using_locale("en"):
            limit = i18n.format_number(megabytes, places=1)  # 1.5 MB
        return (
            '<!doctype html><html lang="id"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            "<title>413</title><h1>Berkas atau isian terlalu besar</h1>"
            f"<p>Batasnya {batas} MB. Perkecil isinya, lalu kembali dan coba lagi.</p>"
            f'<p lang="en">What you sent is larger than the {limit} MB limit. Go back, make it '
            "smaller and try again.</p>"
        ).encode()

    @staticmethod
    async def _send_413(send: Send, content_type: bytes, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
