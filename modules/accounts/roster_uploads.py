"""Uploaded roster files, kept in the database between the dry run and its confirmation so that
any server process can serve either; removed a day after upload.

What is kept is the table read from the file (compressed JSON), not the file itself: reading a
50,000-row XLSX takes openpyxl about 9 seconds, and every view of the dry run, the report and
the confirmation would pay it again; the kept table is read back in a fraction of a second. The
SHA-256 and name of the original file are kept with it."""

from __future__ import annotations

import hashlib
import json
import secrets
import zlib
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.clock import as_utc, utcnow
from modules.accounts.models import RosterUpload
from modules.accounts.roster_file import RosterRow, RosterTable
from modules.audit import service as audit

KEEP = timedelta(days=1)
RECENT = 20
FORMAT = "roster-table/1"


def clean_filename(name: str) -> str:
    """The file's own name (no folders), printable, at most 200 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in base if ch.isprintable()).strip()
    return text[:200] or "roster"


def pack(table: RosterTable) -> bytes:
    """The table as compressed JSON: row numbers, the NIP-was-a-number flag, the cells."""
    document = {
        "format": FORMAT,
        "kind": table.kind,
        "separator": table.separator,
        "headers": table.headers,
        "rows": [[r.row, int(r.numeric_nip), *r.cells] for r in table.rows],
    }
    return zlib.compress(json.dumps(document, ensure_ascii=False).encode(), 6)


def table_of(upload: RosterUpload) -> RosterTable:
    """The table kept for an upload, as read from the file at upload time."""
    document = json.loads(zlib.decompress(upload.content))
    if document.get("format") != FORMAT:
        raise ValueError(f"roster upload {upload.id} holds an unknown format")
    rows = [RosterRow(r[0], tuple(r[2:]), bool(r[1])) for r in document["rows"]]
    return RosterTable(document["headers"], rows, document["kind"], document["separator"])


def store(*, session: Session, user_id: int, filename: str, raw: bytes, table: RosterTable) -> str:
    """Keep the table read from a file for its dry run and confirmation; returns its
    unguessable id. Uploads older than a day are deleted by the worker (accounts/jobs.py)."""
    upload = RosterUpload(
        id=secrets.token_hex(16),
        user_id=user_id,
        filename=clean_filename(filename),
        sha256=hashlib.sha256(raw).hexdigest(),
        content=pack(table),
        rows=len(table.rows),
    )
    session.add(upload)
    session.commit()
    return upload.id


def purge(*, session: Session) -> None:
    """Delete uploads older than a day (applied or not; nobody confirms a day-old dry run);
    assignments made from them keep their people and lose the link (the foreign key sets it
    to NULL). The caller commits."""
    cutoff = utcnow() - KEEP
    session.exec(delete(RosterUpload).where(col(RosterUpload.created_at) < cutoff))


def get(*, session: Session, upload_id: str, user_id: int, admin: bool) -> RosterUpload | None:
    """An upload its uploader (or an admin) may open; None for anyone else, and once it is
    more than a day old."""
    if not (len(upload_id) == 32 and upload_id.isalnum()):
        return None
    upload = session.get(RosterUpload, upload_id)
    if upload is None or (upload.user_id != user_id and not admin):
        return None
    if as_utc(upload.created_at) < utcnow() - KEEP:
        return None
    return upload


def recent(*, session: Session, user_id: int) -> list[Any]:
    """The user's uploads of the last day, newest first (without their content)."""
    cutoff = utcnow() - KEEP
    stmt = (
        sa_select(
            col(RosterUpload.id),
            col(RosterUpload.filename),
            col(RosterUpload.rows),
            col(RosterUpload.created_at),
            col(RosterUpload.applied_at),
        )
        .where(col(RosterUpload.user_id) == user_id, col(RosterUpload.created_at) >= cutoff)
        .order_by(col(RosterUpload.created_at).desc())
        .limit(RECENT)
    )
    return list(session.connection().execute(stmt).all())


def applied_counts(*, session: Session, upload_id: str) -> dict[str, int] | None:
    """The counts recorded when the upload was applied (from its audit event), or None."""
    events = audit.for_subject(session=session, subject_type="roster_upload", subject_id=upload_id)
    for event, _name in reversed(events):
        if event.action == "roster.import":
            detail = json.loads(event.detail)
            return {
                k: int(detail.get(k, 0)) for k in ("created", "updated", "unchanged", "rejected")
            }
    return None
