"""The printed certificate: HTML from `templates/certificates/certificate_pdf.html` rendered
by WeasyPrint, with a QR code (segno) to the public verification page. A rendered PDF is
kept in the cache folder, keyed by the certificate and the template's content, so it is made
once; restyling the template makes new ones."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import segno
from jinja2 import Environment

from app import i18n
from app.templating import TEMPLATE_DIR
from modules.certificates.models import Certificate

TEMPLATE = "certificates/certificate_pdf.html"


def qr_data_uri(url: str) -> str:
    """The QR code of `url` as an SVG data URI (vector, so it prints sharp at any size)."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def _cache_key(certificate: Certificate, verify_url: str, issuer_name: str) -> str:
    template = (TEMPLATE_DIR / TEMPLATE).read_bytes()
    digest = hashlib.sha256(template)
    # the holder's fields too: a certificate minimised after an erasure is another document
    holder = (certificate.holder_name, certificate.holder_work_unit, certificate.holder_position)
    for part in (certificate.number, verify_url, issuer_name, str(certificate.revision), *holder):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:16]


def render(
    env: Environment,
    certificate: Certificate,
    *,
    verify_url: str,
    issuer_name: str,
    modules: list[str],
    cache_dir: Path,
) -> bytes:
    """The certificate's PDF, from the cache or rendered now (and cached)."""
    path = cache_dir / f"{certificate.code}-{_cache_key(certificate, verify_url, issuer_name)}.pdf"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    pdf = render_uncached(
        env, certificate, verify_url=verify_url, issuer_name=issuer_name, modules=modules
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    # written beside and renamed: a concurrent reader sees the whole file or none
    fd, temp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(pdf)
    os.replace(temp, path)
    return pdf


def render_uncached(
    env: Environment,
    certificate: Certificate,
    *,
    verify_url: str,
    issuer_name: str,
    modules: list[str],
) -> bytes:
    from weasyprint import HTML  # imported on first use: it loads Pango

    # the certificate is an Indonesian document (with English glosses), whoever asks for it;
    # the asker's language is back for whatever is rendered after it
    with i18n.using_locale("id"):
        html = env.get_template(TEMPLATE).render(
            c=certificate,
            verify_url=verify_url,
            issuer_name=issuer_name,
            modules=modules,
            qr=qr_data_uri(verify_url),
        )
    return HTML(string=html, base_url=str(TEMPLATE_DIR)).write_pdf()
