"""Content assets (images and attachments of lessons), by content hash."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from app.db import SessionDep
from modules.courses import service

router = APIRouter()


@router.get("/assets/{sha256}/{filename}")
def content_asset(session: SessionDep, sha256: str, filename: str) -> Response:
    row = service.asset(session=session, sha256=sha256) if len(sha256) == 64 else None
    if row is None:
        raise HTTPException(404)
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
    }
    if not row.media_type.startswith("image/"):
        headers["Content-Disposition"] = "attachment"
    return Response(row.data, media_type=row.media_type, headers=headers)
