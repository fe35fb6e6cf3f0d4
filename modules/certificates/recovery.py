"""After a restore from an older backup: the certificate side of putting back what the issuance
log knows and the restored database does not (the learning workflow decides, in
`workflow.reinstate`, with the completions; `berakhlak restore` runs it).

- The restore generation is bumped past every generation the database and the logs have seen,
  so that new numbers never repeat a number handed out before the restore.
- Each year's serial counter is moved past every serial the logs have seen, so a serial is
  never used twice in a year either (those of certificates that cannot be put back stay
  unused: the one documented source of a gap).
- The certificate id sequence is moved past every id the logs have seen: ids are the
  credentials' status-list indexes and must never point to two certificates.
- A certificate the log has and the database lacks is put back as it was (id, number, code,
  holder snapshot); a revocation the log has is applied again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from app import backup
from modules.certificates import issuance_log
from modules.certificates.models import Certificate, CertificateCounter

ID_MARGIN = 1000  # certificate ids skipped after a restore (they are status-list indexes)


@dataclass
class Gaps:
    """What the logs have that the database lacks."""

    issued: list[dict[str, Any]] = field(default_factory=list)  # in the order issued
    revoked: list[dict[str, Any]] = field(default_factory=list)  # revocations not applied
    # ids the database gives to another number: the restored database issued before the
    # restore was finished (never by `berakhlak restore`); left for a person to decide
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def gaps(session: Session, entries: list[dict[str, Any]]) -> Gaps:
    """Compare the logs' entries with the database, by certificate id, number and code."""
    issued: dict[int, dict[str, Any]] = {}
    found = Gaps()
    for entry in entries:
        if entry["event"] != issuance_log.ISSUED:
            continue
        earlier = issued.get(entry["id"])
        if earlier is not None and earlier["code"] != entry["code"]:
            found.conflicts.append(entry)  # one id given twice: a log written after a rewind
            continue
        issued[entry["id"]] = entry
    revoked = {e["id"]: e for e in entries if e["event"] == issuance_log.REVOKED}
    known = {
        row.id: row
        for row in session.exec(
            select(Certificate).where(col(Certificate.id).in_(list(issued) + list(revoked)))
        ).all()
    }
    for cid in sorted(issued):
        row = known.get(cid)
        if row is None:
            found.issued.append(issued[cid])
        elif row.code != issued[cid]["code"]:
            # the database gave this id to another certificate: it issued before the restore
            # was finished (never through `berakhlak restore`); left for a person to decide
            found.conflicts.append(issued[cid])
    for cid in sorted(revoked):
        row = known.get(cid)
        if (
            row is None
            and cid in issued
            and cid not in {c["id"] for c in found.conflicts}
            or (
                row is not None
                and row.revoked_at is None
                and row.code == issued.get(cid, {}).get("code")
            )
        ):
            found.revoked.append(revoked[cid])
    return found


def advance(session: Session, entries: list[dict[str, Any]]) -> int:
    """Bump the restore generation past what the database and the logs have seen, and move
    the yearly serials and the certificate id sequence past every one they have seen (in the
    caller's transaction). Returns the new generation."""
    seen = [int(e.get("generation", 0)) for e in entries if "generation" in e]
    generation = max([backup.generation(session), *seen]) + 1
    backup.set_generation(session, generation)
    serials: dict[int, int] = {}
    for entry in entries:
        if entry["event"] == issuance_log.ISSUED:
            year = int(entry["year"])
            serials[year] = max(serials.get(year, 0), int(entry["serial"]))
    for year, last in serials.items():
        counter = session.get(CertificateCounter, year) or CertificateCounter(year=year, last=0)
        counter.last = max(counter.last, last)
        session.add(counter)
    # past every id the logs name, and a margin beyond: a line the log missed (a process that
    # died between its commit and the write) must not have its id handed out again
    logged = max((int(e["id"]) for e in entries if e.get("id") is not None), default=0)
    logged += ID_MARGIN
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('certificate', 'id'), "
                "GREATEST(:logged, (SELECT coalesce(max(id), 0) FROM certificate), 1))"
            ),
            {"logged": logged},
        )
    else:  # AUTOINCREMENT: the next id is past sqlite_sequence's, even if that row is gone
        conn.execute(text("DELETE FROM sqlite_sequence WHERE name = 'certificate'"))
        conn.execute(
            text(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('certificate', "
                "max(:logged, (SELECT coalesce(max(id), 0) FROM certificate)))"
            ),
            {"logged": logged},
        )
    return generation


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def put_back(
    session: Session, entry: dict[str, Any], *, user_id: int, content_version_id: int
) -> Certificate:
    """Insert the logged certificate as it was (in the caller's transaction); the certificate
    it replaced, if the database has it, is closed as re-issued."""
    fields = {
        name: entry[name]
        for name in Certificate.model_fields
        if name in entry and name not in {"id", "user_id", "replaces_id", "content_version_id"}
    }
    for name in ("completed_at", "issued_at", "valid_until"):
        fields[name] = _when(entry.get(name))
    replaced = (
        session.exec(select(Certificate).where(Certificate.number == entry["replaces"])).first()
        if entry.get("replaces")
        else None
    )
    certificate = Certificate(
        **fields,
        id=entry["id"],
        user_id=user_id,
        content_version_id=content_version_id,
        replaces_id=replaced.id if replaced else None,
    )
    session.add(certificate)
    session.flush()
    if replaced is not None and replaced.revoked_at is None:
        replaced.revoked_at = certificate.issued_at
        replaced.revoked_reason = "reissued"
        session.add(replaced)
    return certificate


def revoke_again(session: Session, entry: dict[str, Any]) -> bool:
    """Apply a logged revocation the database lacks; True if it did."""
    certificate = session.get(Certificate, entry["id"])
    if certificate is None or certificate.revoked_at is not None:
        return False
    certificate.revoked_at = _when(entry.get("at"))
    certificate.revoked_reason = entry.get("reason") or "revoked"
    session.add(certificate)
    return True
