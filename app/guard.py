"""Pure ASGI middleware that keeps a server process answering under overload and when the
database stops answering:

- **Load shedding.** At most `limit` requests are worked on at once; one more gets 503 with
  `Retry-After` at once, before any work. `reserved` of those places are kept for quiz answer
  saves and hand-ins (what a learner loses if refused), so a flood of page views cannot take
  them. Static files and health checks are never counted or refused.
- **Request timeout.** A request whose answer has not started after `timeout` seconds gets 503.
  A thread stuck on the database cannot be stopped from here; the database timeouts
  (docs/operations.md) end it, and the pool timeout refuses the requests queued behind it.

The 503 page is the same small bilingual page whatever the state of the app (no template, no
database), and never claims anything was saved."""

from __future__ import annotations

import asyncio
import json
import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import loggable_path, metrics
from app.security import SECURITY_HEADERS

log = logging.getLogger("berakhlak.guard")

EXEMPT = ("/static/", "/livez", "/readyz", "/healthz", "/metrics")
# what a learner loses if refused: an answer, a hand-in
ESSENTIAL = re.compile(r"^/attempts/[^/]+/(answers/[^/]+|submit|save)$")


class Guard:
    """See the module docstring."""

    def __init__(
        self, app: ASGIApp, *, limit: int, reserved: int, timeout: float, retry_after: int = 5
    ) -> None:
        self.app = app
        self.limit, self.reserved, self.timeout = limit, reserved, timeout
        self.retry_after = retry_after
        self.active = 0  # one event loop per process: no lock needed
        self.shed = 0  # requests refused since start (metrics read it)
        self.timed_out = 0

    def essential(self, scope: Scope) -> bool:
        return scope["method"] == "POST" and bool(ESSENTIAL.match(scope["path"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        room = self.limit if self.essential(scope) else self.limit - self.reserved
        if self.active >= room:
            self.shed += 1
            metrics().shed.inc()
            await self._unavailable(scope, send, overloaded=True)
            return
        self.active += 1
        try:
            await self._with_timeout(scope, receive, send)
        finally:
            self.active -= 1

    async def _with_timeout(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False
        try:
            async with asyncio.timeout(self.timeout) as deadline:

                async def watched_send(message: Message) -> None:
                    nonlocal started
                    if message["type"] == "http.response.start" and not started:
                        started = True
                        deadline.reschedule(None)  # the answer is under way: a stream may be long
                    await send(message)

                await self.app(scope, receive, watched_send)
        except TimeoutError:
            if started or not deadline.expired():
                raise
            self.timed_out += 1
            metrics().timed_out.inc()
            log.warning(
                "%s %s: no answer after %s s",
                scope["method"],
                loggable_path(scope["path"]),
                self.timeout,
            )
            await self._unavailable(scope, send, overloaded=False)

    async def _unavailable(self, scope: Scope, send: Send, *, overloaded: bool) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"")
        if scope["path"].startswith("/api/") or b"text/html" not in accept:
            detail = (
                "The server is busy; try again in a few seconds."
                if overloaded
                else "The server could not answer in time; try again in a few seconds."
            )
            problem = {"type": "about:blank", "title": "Service Unavailable", "status": 503}
            body = json.dumps({**problem, "detail": detail}).encode()
            kind = b"application/problem+json"
        else:
            body, kind = _page(overloaded), b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after).encode()),
                    (b"cache-control", b"no-store"),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _page(overloaded: bool) -> bytes:
    """Both languages: the visitor's language is not known without reading the request."""
    if overloaded:
        title, text, english = (
            "Server sedang sibuk",
            "Terlalu banyak permintaan saat ini. Tunggu beberapa detik, lalu coba lagi.",
            "The server is busy. Wait a few seconds, then try again.",
        )
    else:
        title, text, english = (
            "Server tidak menjawab tepat waktu",
            "Permintaan Anda tidak selesai tepat waktu, jadi belum tentu tersimpan. Tunggu "
            "sebentar, buka kembali halamannya, lalu periksa sebelum mengirim ulang.",
            "Your request did not finish in time, so it may not have been saved. Wait a "
            "moment, reload the page and check before sending it again.",
        )
    return (
        '<!doctype html><html lang="id"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>503</title><h1>{title}</h1><p>{text}</p>"
        f'<p lang="en">{english}</p>'
    ).encode()
