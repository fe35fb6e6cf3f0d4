"""The issuance log: every certificate issued and every revocation, one JSON line each, appended
once the transaction that made it has committed (`BERAKHLAK_ISSUANCE_LOG`).

It lives outside the database and is meant to be shipped off the machine as it grows (rsync,
a log shipper, a syslog forwarder: docs/operations.md). After a restore from an older backup it
is what knows the certificates issued, and revoked, since the backup: `berakhlak restore` reads it
to bring them back. It holds the holder's NIP and name (a certificate cannot be re-issued without
them): keep it as carefully as the backups.

Records are appended with O_APPEND and fsynced, each starting with a line break (so a line torn
by a crash never swallows the next), so several processes on one machine may share the file;
servers on several machines each keep their own (the restore reads every log it is given). A
record is missing when its process died between the commit and the write, or the write failed
(a full disk: the error is logged); a restore moves certificate ids a margin past the highest it
reads for that reason."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from modules.certificates.models import Certificate

log = logging.getLogger(__name__)
_PENDING = "berakhlak_issuance_log"

ISSUED = "issued"
REVOKED = "revoked"
RESTORED = "restored"


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def issued_entry(certificate: Certificate, replaces: str | None) -> dict[str, Any]:
    """Everything needed to put the certificate back as it was, number and code included."""
    entry = {
        name: _iso(getattr(certificate, name))
        for name in Certificate.model_fields
        if name not in {"user_id", "replaces_id", "revoked_at", "revoked_reason"}
    }
    return {"event": ISSUED, **entry, "replaces": replaces}


def revoked_entry(certificate: Certificate) -> dict[str, Any]:
    return {
        "event": REVOKED,
        "id": certificate.id,
        "number": certificate.number,
        "at": _iso(certificate.revoked_at),
        "reason": certificate.revoked_reason,
    }


def append(path: Path, entries: Iterable[dict[str, Any]]) -> None:
    """Append lines now, then fsync. Each record starts with a line break, so a line torn by
    a crash (or a full disk) never swallows the next one; a short write is continued."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(("\n" + json.dumps(entry, ensure_ascii=False)).encode() for entry in entries)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def note(session: Session, path: Path | None, entry: dict[str, Any]) -> None:
    """Append `entry` once the session's outermost transaction commits (dropped if it rolls
    back or the session closes without committing)."""
    if path is None:
        return
    session.connection()  # inside a transaction (begun now if need be), whose end decides
    pending: list[tuple[Path, dict[str, Any]]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _written)
        event.listen(session, "after_transaction_end", _ended)
    pending.append((path, entry))


def _written(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the outer one goes on
        return
    pending = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    by_path: dict[Path, list[dict[str, Any]]] = {}
    for path, entry in pending:
        by_path.setdefault(path, []).append(entry)
    for path, entries in by_path.items():
        try:
            append(path, entries)
        except OSError:  # the certificate stands; the gap is reported, never raised into a commit
            log.exception(
                "issuance log %s not written for %s", path, [e.get("number") for e in entries]
            )


def _ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost ended: committed (written above) or not
        session.info[_PENDING] = []


def read(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Every entry of the logs, in order, file by file; a torn last line (a crash mid-write)
    is skipped."""
    for path in paths:
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    log.warning("issuance log %s: an unreadable line skipped", path)
                    continue
                if isinstance(entry, dict) and "event" in entry:
                    yield entry
