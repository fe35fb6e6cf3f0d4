"""The installable, offline-capable web app: the service worker at the site root (so that it
controls every page), the web app manifest with its icons, and the page shown for a page that
cannot be reached offline. What the worker keeps is in app/pwa/sw.js; the queue of answers and
"done" marks made offline is in app/pwa/app.js (docs/architecture.md, "Offline")."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app import i18n
from app.templating import STATIC_DIR, TEMPLATE_DIR, render, request_locale, static_url

log = logging.getLogger("berakhlak.offline")
router = APIRouter(include_in_schema=False)

BUNDLE = STATIC_DIR / "vendor" / "sw.js"  # built by `make assets`
ICON_SIZES = (192, 512)
BRAND = "#0b5394"
# files the offline page needs, fetched when the worker installs (from the browser's HTTP
# cache when a page has loaded them already: their URLs are versioned)
PRECACHE_STATIC = ("app.css", "vendor/htmx.min.js", "vendor/app.min.js", "favicon.svg")
OFFLINE_URL = "/offline"
OFFLINE_TEMPLATE = TEMPLATE_DIR / "offline.html"


@cache
def _bundle(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        log.warning("service worker bundle %s is missing: run `make assets`", path)
        return b""


@cache
def worker_script() -> bytes:
    """The bundle with its configuration in front: the files to precache and a version that
    changes when any of them (or the bundle) does, so that browsers install the new worker.
    Built once per process: the files it names do not change while it runs."""
    bundle = _bundle(BUNDLE)
    if not bundle:
        return b""
    precache = [OFFLINE_URL, *(static_url(name) for name in PRECACHE_STATIC)]
    page = OFFLINE_TEMPLATE.read_bytes()  # a changed offline page is precached again
    version = hashlib.sha256(bundle + page + json.dumps(precache).encode()).hexdigest()[:12]
    config = {"version": version, "precache": precache, "offline": OFFLINE_URL}
    return b"self.BK=" + json.dumps(config).encode() + b";\n" + bundle


@router.get("/sw.js")
def service_worker() -> Response:
    script = worker_script()
    if not script:
        raise HTTPException(404)
    return Response(
        script,
        media_type="text/javascript",
        # browsers check for a new worker at most daily anyway; never keep an old one longer
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/manifest.webmanifest")
def manifest(request: Request) -> Response:
    locale = request_locale(request)
    i18n.set_locale(locale)
    body = {
        "name": i18n.gettext("BerAKHLAK Learning"),
        "short_name": "BerAKHLAK",
        "description": i18n.gettext(
            "Core values training for Indonesian civil servants. Open source."
        ),
        "lang": locale,
        "start_url": "/me/learning",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f7f9",
        "theme_color": BRAND,
        "icons": [
            *(
                {"src": f"/icons/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png"}
                for size in ICON_SIZES
            ),
            {
                "src": "/icons/maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": static_url("favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=86400", "Vary": "Cookie"},
    )


@cache
def icon(size: int, maskable: bool = False) -> bytes:
    """The app icon as PNG, drawn once: the brand's blue square with a white "B" (the favicon
    in pixels; a maskable icon keeps the letter inside the safe zone)."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 - only when an icon is asked

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, size, size), fill=BRAND)
    else:
        draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=BRAND)
    height = int(size * (0.45 if maskable else 0.62))
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(
            "DejaVuSans-Bold.ttf", height
        )
    except OSError:
        font = ImageFont.load_default(height)
    draw.text((size / 2, size / 2), "B", fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@router.get("/icons/{name}.png")
def icon_file(name: str) -> Response:
    sizes = {f"icon-{s}": (s, False) for s in ICON_SIZES} | {"maskable-512": (512, True)}
    if name not in sizes:
        raise HTTPException(404)
    size, maskable = sizes[name]
    return Response(
        icon(size, maskable),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=604800"},
    )


@router.get(OFFLINE_URL)
def offline_page(request: Request) -> Response:
    """Shown by the service worker for a page it cannot reach offline (precached in the
    visitor's language when the worker installs). It does not look at who is logged in: a
    page that says nobody (or someone) would make the device forget another person's queue
    when it is shown later, offline; so its header is the logged-out one, and app.js lists
    the lessons kept on the device."""
    return render(request, "offline.html")
