"""The platform's own static files (a few small ones), read once into memory and answered on
the event loop: no worker thread is needed, so they keep answering when every thread waits on
a database that does not answer."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from starlette.types import Receive, Scope, Send


class MemoryStatic:
    """An ASGI app serving every file under `directory` from memory. Versioned URLs
    (`?v=hash`, see templating.static_url) may be cached for a year; others are revalidated
    with their ETag."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[str, tuple[bytes, str, str]] = {}
        self._loaded = False

    def _load(self) -> None:
        for path in self.directory.rglob("*"):
            if path.is_file():
                body = path.read_bytes()
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
                    kind += "; charset=utf-8"
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                self.files["/" + path.relative_to(self.directory).as_posix()] = (body, kind, etag)
        self._loaded = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._loaded:
            self._load()
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        found = self.files.get(path)
        if scope["method"] not in ("GET", "HEAD") or found is None:
            await _answer(send, 404 if found is None else 405, b"Not Found", [])
            return
        body, kind, etag = found
        versioned = b"v=" in scope.get("query_string", b"")
        headers = [
            (b"content-type", kind.encode()),
            (b"etag", etag.encode()),
            (
                b"cache-control",
                b"public, max-age=31536000, immutable" if versioned else b"no-cache",
            ),
        ]
        asked = dict(scope.get("headers") or []).get(b"if-none-match", b"").decode()
        if asked and etag in asked:
            await _answer(send, 304, b"", headers)
            return
        await _answer(send, 200, b"" if scope["method"] == "HEAD" else body, headers, len(body))


async def _answer(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], length: int = -1
) -> None:
    size = len(body) if length < 0 else length
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(size).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
