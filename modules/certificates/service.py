"""Certificates: issue once per completion with a gap-free yearly number, find, revoke,
re-issue. The PDF and the signed credential are made from the stored row (pdf.py,
credential.py), never from live data, so they always say what was true at issue time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, literal_column, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app import backup, jobs, personal_data
from app.clock import as_utc, utcnow
from app.i18n import N_
from modules.accounts import service as accounts_service
from modules.accounts.service import Scope
from modules.agencies import service as agencies_service
from modules.audit import service as audit
from modules.certificates import credential, issuance_log, recovery
from modules.certificates.models import Certificate, CertificateCounter
from modules.certificates.schemas import Owed as Owed  # what the workflow hands over
from modules.courses import service as courses_service

RANDOM_LENGTH = 4  # `{random}` in the number pattern: 20 bits nobody can guess from the serial
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper
CODE_LENGTH = 12
MAX_REASON = 500


@dataclass(frozen=True)
class IssuePolicy:
    """What the settings say about new certificates."""

    number_pattern: str
    validity_days: int
    signer_name: str
    signer_title: str
    zone: tzinfo
    holder_key: str  # keys the holder reference (the platform secret)
    log: Path | None = None  # the issuance log (None: not kept, in some tests)


def policy_from(settings: Any) -> IssuePolicy:
    return IssuePolicy(
        number_pattern=settings.certificate_number_pattern,
        validity_days=settings.certificate_validity_days,
        signer_name=settings.certificate_signer_name,
        signer_title=settings.certificate_signer_title,
        zone=settings.tz,
        holder_key=settings.secret_key,
        log=settings.issuance_log,
    )


def holder_ref(nip: str, key: str) -> str:
    """The holder's id in credentials: a UUID (version 8) from an HMAC of the NIP under the
    platform secret. Stable for a person, meaningless without the secret: unlike a plain or
    salted hash of an 18-digit NIP, it cannot be reversed by trying the few likely numbers."""
    digest = bytearray(hmac.new(key.encode(), f"holder:{nip}".encode(), hashlib.sha256).digest())
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8: custom
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 9562 variant
    return f"urn:uuid:{uuid.UUID(bytes=bytes(digest[:16]))}"


def new_code() -> str:
    """An unguessable verification code (60 bits), easy to type from paper."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _next_serial_statement(insert: Any) -> Any:
    stmt = insert(CertificateCounter.__table__).values(  # type: ignore[attr-defined]
        year=bindparam("year"), last=1
    )
    return stmt.on_conflict_do_update(
        index_elements=["year"], set_={"last": literal_column("certificate_counter.last") + 1}
    ).returning(literal_column("last"))


# Indexed by "is PostgreSQL". Takes the year's counter row lock until the transaction ends.
_NEXT_SERIAL = (_next_serial_statement(sqlite_insert), _next_serial_statement(pg_insert))


def current(*, session: Session, user_id: int, course_id: str) -> Certificate | None:
    """The learner's latest certificate for a course (a re-issue replaces the earlier)."""
    return session.exec(
        select(Certificate)
        .where(col(Certificate.user_id) == user_id, col(Certificate.course_id) == course_id)
        .order_by(col(Certificate.revision).desc())
    ).first()


ISSUE_JOB = "certificate.issue"


def verify_url(base_url: str, certificate: Certificate) -> str:
    """The public verification page of a certificate: the link a holder shares (for other
    modules; the address itself is the credential's)."""
    return credential.verify_url(base_url.rstrip("/"), certificate)


def owe(*, session: Session, owed: Owed) -> bool:
    """Record, in the caller's transaction (the one that records the completion), that a
    certificate is owed: an outbox row the worker turns into the certificate. Owed once per
    completion; True if this call recorded it."""
    return jobs.enqueue(
        session,
        ISSUE_JOB,
        owed.as_payload(),
        key=f"{owed.user_id}/{owed.course_id}",
        user_id=owed.user_id,
        max_attempts=12,
    )


def owed_to(*, session: Session, user_id: int) -> list[tuple[Owed, str]]:
    """Certificates owed to a learner and not issued yet, with their job's state (`queued`,
    `running`, `retrying` or `dead`): shown on their certificates page."""
    return [
        (Owed.from_payload(job.data()), jobs.status_label(job))
        for job in jobs.pending(session, ISSUE_JOB, user_id=user_id)
    ]


def issue(
    *,
    session: Session,
    completion: Owed,
    course_title: str,
    content_version: str,
    policy: IssuePolicy,
    revision: int = 1,
    replaces: Certificate | None = None,
) -> Certificate:
    """Issue the certificate for a completion, once: a repeat gets the certificate already
    issued. In the caller's transaction (the caller commits): the number is taken in the same
    transaction as the insert, so a failure gives it back and numbers have no gaps."""
    if revision == 1:
        existing = current(
            session=session, user_id=completion.user_id, course_id=completion.course_id
        )
        if existing is not None:
            return existing
    user = accounts_service.get(session=session, user_id=completion.user_id)
    agency = agencies_service.get(session=session, agency_id=user.agency_id)
    now = utcnow()
    completed = as_utc(completion.completed_at)
    # the year of the completion, as its JP are counted: a certificate the worker issues just
    # after midnight on New Year's Eve (or after retries) still belongs to that year
    year = completed.astimezone(policy.zone).year
    valid_until = completed + timedelta(days=policy.validity_days) if policy.validity_days else None
    conn = session.connection()
    serial: int = conn.execute(
        _NEXT_SERIAL[conn.dialect.name == "postgresql"], {"year": year}
    ).scalar_one()
    generation = backup.generation(session)
    certificate = Certificate(
        number=policy.number_pattern.format(
            year=year,
            serial=serial,
            generation=generation,
            restore=f"-R{generation}" if generation else "",
            random="".join(secrets.choice(CODE_ALPHABET) for _ in range(RANDOM_LENGTH)),
        ),
        code=new_code(),
        year=year,
        serial=serial,
        generation=generation,
        user_id=completion.user_id,
        course_id=completion.course_id,
        revision=revision,
        replaces_id=replaces.id if replaces else None,
        holder_name=user.name,
        holder_nip=user.nip,
        holder_ref=holder_ref(user.nip, policy.holder_key),
        holder_employment_type=user.employment_type,
        holder_agency=agency.name if agency else "",
        holder_work_unit=user.work_unit,
        holder_position=user.position,
        holder_grade=user.grade,
        course_title=course_title,
        jp=completion.jp,
        content_version_id=completion.content_version_id,
        content_version=content_version,
        completed_at=completed,
        issued_at=now,
        valid_until=valid_until,
        signer_name=policy.signer_name,
        signer_title=policy.signer_title,
    )
    if user.erased_at is not None:  # owed before the erasure: kept as minimised as the others
        certificate.holder_name = certificate.holder_work_unit = ""
        certificate.holder_position = certificate.holder_grade = ""
        certificate.holder_erased_at = user.erased_at
    session.add(certificate)
    session.flush()
    if replaces is not None:
        if not _close(session, replaces, REISSUED, now):
            raise CertificateError(N_("This certificate is already revoked."))
        issuance_log.note(session, policy.log, issuance_log.revoked_entry(replaces))
    issuance_log.note(
        session,
        policy.log,
        issuance_log.issued_entry(certificate, replaces.number if replaces else None),
    )
    return certificate


REISSUED = "reissued"  # the reason stored on a certificate replaced by a re-issue


def issue_owed(*, session: Session, owed: Owed, catalogue: Any, policy: IssuePolicy) -> Certificate:
    """The worker's step: issue the certificate a completion is owed (the caller commits)."""
    view = catalogue.version(owed.content_version_id) or catalogue.get(owed.course_id)
    label = courses_service.version_label(session=session, version_id=owed.content_version_id)
    return issue(
        session=session,
        completion=owed,
        course_title=view.content.title if view else owed.course_id,
        content_version=label or "",
        policy=policy,
    )


def for_user(*, session: Session, user_id: int) -> list[Certificate]:
    """A learner's certificates, newest first."""
    return list(
        session.exec(
            select(Certificate)
            .where(col(Certificate.user_id) == user_id)
            .order_by(col(Certificate.issued_at).desc(), col(Certificate.id).desc())
        ).all()
    )


_REF = re.compile(r"^[A-Za-z0-9/._-]{3,64}$")
# Both unique columns are indexed: compare as typed and in capitals, no function on them.
_REF_MATCH = (col(Certificate.code) == bindparam("upper")) | col(Certificate.number).in_(
    [bindparam("ref"), bindparam("upper")]
)


def find(*, session: Session, ref: str) -> Certificate | None:
    """A certificate by its verification code or its public number (case and surrounding
    space ignored); anything else is simply not found."""
    ref = ref.strip()
    if not _REF.match(ref):
        return None
    params = {"ref": ref, "upper": ref.upper()}
    return session.exec(select(Certificate).where(_REF_MATCH).params(params)).first()


_COLUMNS = list(Certificate.__table__.columns)  # type: ignore[attr-defined]
# Built once, read on a Core connection: the public verification page is a hot path.
_BY_REF = select(*_COLUMNS).where(_REF_MATCH)
_REPLACED_BY = select(*_COLUMNS).where(col(Certificate.replaces_id) == bindparam("id"))


def _from_row(row: Any) -> Certificate | None:
    return None if row is None else Certificate(**dict(row._mapping))


def find_for_verification(
    *, conn: Connection, ref: str
) -> tuple[Certificate | None, Certificate | None]:
    """`find` on a Core connection, with the certificate that replaced it (if revoked)."""
    ref = ref.strip()
    if not _REF.match(ref):
        return None, None
    certificate = _from_row(conn.execute(_BY_REF, {"ref": ref, "upper": ref.upper()}).first())
    if certificate is None or certificate.revoked_at is None:
        return certificate, None
    return certificate, _from_row(conn.execute(_REPLACED_BY, {"id": certificate.id}).first())


def by_code(*, session: Session, code: str) -> Certificate | None:
    if len(code) != CODE_LENGTH:
        return None
    return session.exec(select(Certificate).where(col(Certificate.code) == code.upper())).first()


def replacement(*, session: Session, certificate: Certificate) -> Certificate | None:
    """The certificate that replaced this one by a re-issue, if any."""
    return session.exec(
        select(Certificate).where(col(Certificate.replaces_id) == certificate.id)
    ).first()


def status(certificate: Certificate, now: datetime | None = None) -> str:
    """`valid`, `revoked` or `expired`."""
    now = now or utcnow()
    if certificate.revoked_at is not None:
        return "revoked"
    if certificate.valid_until is not None and as_utc(certificate.valid_until) <= now:
        return "expired"
    return "valid"


STATUS_LABELS = {
    "valid": N_("Valid"),
    "revoked": N_("Revoked"),
    "expired": N_("Expired"),
}


def _words(text: str) -> list[str]:
    """A name's words, compared without case, accents or punctuation."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    return re.findall(r"[^\W_]+", plain)


# Parts of Indonesian degrees and honorifics (S.Kom., M.M., Dr., Ir., Hj., A.Md. …), in the
# words `_words` makes of them
TITLE_WORDS = frozenset(
    [
        "dr",
        "drs",
        "dra",
        "ir",
        "prof",
        "h",
        "hj",
        "s",
        "m",
        "d",
        "a",
        "t",
        "e",
        "p",
        "st",
        "se",
        "sh",
        "sp",
        "si",
        "ss",
        "sos",
        "pd",
        "kom",
        "kes",
        "ked",
        "kep",
        "farm",
        "gz",
        "ak",
        "ag",
        "hum",
        "ip",
        "mm",
        "mh",
        "mpd",
        "msi",
        "mt",
        "mkes",
        "mba",
        "ma",
        "msc",
        "bsc",
        "phd",
        "md",
        "amd",
        "ab",
        "sk",
        "ked",
    ]
)


def holder_matches(certificate: Certificate, given: str) -> bool:
    """Whether `given` (what a verifier typed from a paper copy) is the holder's NIP or name.
    A name matches when every word of the holder's name is in it, so academic titles
    ("Dr. Siti Rahmawati, S.Kom.") may be added; at most two more words, so a list of
    common names cannot test many at once."""
    given = given.strip()[:200]
    digits = "".join(ch for ch in given if ch.isdigit())
    if digits and len(digits) == len(certificate.holder_nip) and not re.search(r"[^\d\s.-]", given):
        return hmac.compare_digest(digits, certificate.holder_nip)
    holder = _words(certificate.holder_name)
    # academic degrees and honorifics as printed around a name are not counted as words
    typed = [w for w in _words(given) if w in holder or w not in TITLE_WORDS]
    return bool(holder) and set(holder) <= set(typed) and len(typed) <= len(holder) + 2


def mask_nip(nip: str) -> str:
    """Show the birth year and the last three digits only: enough to tell two people of the
    same name apart, not enough to reconstruct the number."""
    if len(nip) < 8:
        return "*" * len(nip)
    return nip[:4] + "*" * (len(nip) - 7) + nip[-3:]


class CertificateError(ValueError):
    """A revoke or re-issue that cannot be done; the message is a translatable id."""


def revoke(
    *,
    session: Session,
    certificate: Certificate,
    reason: str,
    actor_id: int | None,
    address: str,
    log: Path | None = None,
) -> Certificate:
    """Revoke with a reason (kept in the audit trail and shown on the verification page, and
    in the issuance log `log`)."""
    reason = " ".join(reason.split())
    if not 5 <= len(reason) <= MAX_REASON:
        raise CertificateError(N_("Give a reason of 5 to 500 characters."))
    if not reason.isprintable():
        raise CertificateError(N_("The reason contains characters that cannot be stored."))
    if certificate.revoked_at is not None or not _close(session, certificate, reason, utcnow()):
        session.rollback()
        raise CertificateError(N_("This certificate is already revoked."))
    issuance_log.note(session, log, issuance_log.revoked_entry(certificate))
    audit.record(
        session=session,
        actor_id=actor_id,
        action="certificate.revoke",
        subject_type="certificate",
        subject_id=certificate.number,
        detail={"reason": reason},
        address=address,
    )
    session.commit()
    return certificate


_CLOSE = (
    update(Certificate)
    .where(col(Certificate.id) == bindparam("cid"), col(Certificate.revoked_at).is_(None))
    .values(revoked_at=bindparam("at"), revoked_reason=bindparam("reason"))
)


def _close(session: Session, certificate: Certificate, reason: str, now: datetime) -> bool:
    """Revoke if still unrevoked, decided by one conditional UPDATE (two admins at once: one
    wins); True if this call revoked it."""
    won = (
        session.connection()
        .execute(_CLOSE, {"cid": certificate.id, "at": now, "reason": reason})
        .rowcount
    )
    if won:
        certificate.revoked_at, certificate.revoked_reason = now, reason
    return bool(won)


def reissue(
    *,
    session: Session,
    certificate: Certificate,
    policy: IssuePolicy,
    actor_id: int | None,
    address: str,
) -> Certificate:
    """Issue a new certificate with the holder's current details (e.g. after a name
    correction); the old one is revoked and points to the new one."""
    if certificate.revoked_at is not None:
        raise CertificateError(N_("A revoked certificate cannot be re-issued."))
    latest = current(session=session, user_id=certificate.user_id, course_id=certificate.course_id)
    if latest is None or latest.id != certificate.id:
        raise CertificateError(N_("Only the latest certificate of a course can be re-issued."))
    completion = Owed(
        user_id=certificate.user_id,
        course_id=certificate.course_id,
        completed_at=certificate.completed_at,
        jp=certificate.jp,
        content_version_id=certificate.content_version_id,
    )
    old_number, old_name = certificate.number, certificate.holder_name
    audit.record(
        session=session,
        actor_id=actor_id,
        action="certificate.reissue",
        subject_type="certificate",
        subject_id=old_number,
        detail={"old_name": old_name},
        address=address,
    )
    try:
        new = issue(
            session=session,
            completion=completion,
            course_title=certificate.course_title,
            content_version=certificate.content_version,
            policy=policy,
            revision=certificate.revision + 1,
            replaces=certificate,
        )
    except CertificateError:  # revoked meanwhile: a revocation is never undone by a re-issue
        session.rollback()
        raise
    except IntegrityError:  # another admin re-issued it at the same moment: theirs stands
        session.rollback()
        raise CertificateError(
            N_("Only the latest certificate of a course can be re-issued.")
        ) from None
    audit.record(
        session=session,
        actor_id=actor_id,
        action="certificate.issue",
        subject_type="certificate",
        subject_id=new.number,
        detail={"replaces": old_number, "name": new.holder_name},
        address=address,
    )
    session.commit()
    return new


def revoked_ids(*, session: Session) -> list[int]:
    """Ids (status-list indexes) of every revoked certificate."""
    rows = session.exec(select(Certificate.id).where(col(Certificate.revoked_at).is_not(None)))
    return [i for i in rows.all() if i is not None]


def revoked_state(*, session: Session, index: int) -> bool | None:
    """For a status-list index: True if that certificate is revoked, False if not, None if
    there is no such certificate."""
    if not 0 < index < 2**31:
        return None
    certificate = session.get(Certificate, index)
    return None if certificate is None else certificate.revoked_at is not None


@dataclass(frozen=True)
class Filters:
    """What HR or an admin narrowed a list of certificates to."""

    course_id: str | None = None
    year: int | None = None
    status: str = "valid"  # valid, revoked, expired or all
    agency_id: int | None = None
    query: str = ""  # number, code, NIP or the start of a name

    def as_params(self) -> dict[str, str]:
        values = {
            "course": self.course_id or "",
            "year": str(self.year or ""),
            "status": self.status,
            "agency": str(self.agency_id or ""),
            "q": self.query,
        }
        return {k: v for k, v in values.items() if v}


STATUSES = ("valid", "revoked", "expired", "all")
_ID = re.compile(r"^[0-9]{1,9}$")


def small_id(text: str) -> int | None:
    """A row id from a query parameter (ASCII digits, within any database's integer), or
    None."""
    return int(text) if _ID.match(text) else None


def parse_filters(params: dict[str, str]) -> tuple[Filters, dict[str, str]]:
    """Filters from query parameters, and a message per parameter that made no sense."""
    errors: dict[str, str] = {}
    year: int | None = None
    if params.get("year"):
        try:
            year = int(params["year"])
        except ValueError:
            year = None
        if year is None or not 2000 <= year <= 2100:
            errors["year"] = N_("Give a year such as 2026.")
            year = None
    agency: int | None = None
    if params.get("agency"):
        agency = small_id(params["agency"])
        if agency is None:
            errors["agency"] = N_("Choose an agency from the list.")
    status = params.get("status") or "valid"
    if status not in STATUSES:
        errors["status"] = N_("Choose a status from the list.")
        status = "valid"
    query = " ".join((params.get("q") or "").split())[:80]
    if query and not query.isprintable():
        errors["q"] = N_("The search contains characters that cannot be searched for.")
        query = ""
    course = (params.get("course") or "").strip()[:64] or None
    return Filters(course, year, status, agency, query), errors


def _managed(scope: Scope, filters: Filters, now: datetime) -> Any:
    """The certificates of the people in `scope` (by their current agency and unit),
    filtered."""
    stmt = select(Certificate)
    if not scope.everything or filters.agency_id is not None:
        people = accounts_service.ids_in_scope(scope=scope, agency_id=filters.agency_id)
        stmt = stmt.where(col(Certificate.user_id).in_(people))
    if filters.course_id:
        stmt = stmt.where(col(Certificate.course_id) == filters.course_id)
    if filters.year:
        stmt = stmt.where(col(Certificate.year) == filters.year)
    if filters.status == "valid":
        stmt = stmt.where(
            col(Certificate.revoked_at).is_(None),
            col(Certificate.valid_until).is_(None) | (col(Certificate.valid_until) > now),
        )
    elif filters.status == "revoked":
        stmt = stmt.where(col(Certificate.revoked_at).is_not(None))
    elif filters.status == "expired":
        stmt = stmt.where(
            col(Certificate.revoked_at).is_(None), col(Certificate.valid_until) <= now
        )
    if filters.query:
        text = filters.query
        stmt = stmt.where(
            (col(Certificate.number) == text.upper())
            | (col(Certificate.number) == text)
            | (col(Certificate.code) == text.upper())
            | (col(Certificate.holder_nip) == text.replace(" ", ""))
            | col(Certificate.holder_name).ilike(text.replace("%", "").replace("_", "") + "%")
        )
    return stmt


def managed_page(
    *,
    session: Session,
    scope: Scope,
    filters: Filters,
    before_id: int | None = None,
    limit: int = 50,
) -> tuple[list[Certificate], int]:
    """One page of the list, newest first (keyset: ids below `before_id`), and the total."""
    now = utcnow()
    stmt = _managed(scope, filters, now)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    if before_id is not None:
        stmt = stmt.where(col(Certificate.id) < before_id)
    rows = session.exec(stmt.order_by(col(Certificate.id).desc()).limit(limit)).all()
    return list(rows), int(total)


def managed_stream(*, session: Session, scope: Scope, filters: Filters, batch: int = 200) -> Any:
    """Every matching certificate, oldest first, fetched in batches (never all at once)."""
    last = 0
    now = utcnow()
    while True:
        rows = session.exec(
            _managed(scope, filters, now)
            .where(col(Certificate.id) > last)
            .order_by(col(Certificate.id))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id or last
        session.expunge_all()


# ---- after a restore (recovery.py, issuance_log.py), offered to the learning workflow --------

read_issuance_log = issuance_log.read
append_to_issuance_log = issuance_log.append
RESTORED = issuance_log.RESTORED
restore_gaps = recovery.gaps
advance_generation = recovery.advance
put_back = recovery.put_back
revoke_again = recovery.revoke_again


def export_for(*, session: Session, user_id: int, since: datetime | None = None) -> dict[str, Any]:
    """A person's certificates as issued (with revocations), for their data download. Those
    issued before `since` (an account passed to the rightful holder of its NIP) are listed
    without the former holder's name and workplace."""
    rows = personal_data.rows_of(
        session,
        Certificate,
        col(Certificate.user_id) == user_id,
        omit=("user_id",),
        order=col(Certificate.id),
    )
    if since is not None:
        cut = as_utc(since).isoformat()
        former = ("holder_name", "holder_agency", "holder_work_unit", "holder_position")
        for row in rows:
            if row["issued_at"] < cut:
                for column in (*former, "holder_grade"):
                    row.pop(column, None)
    return {"certificates": rows}


def erase_for(*, session: Session, user_id: int) -> None:
    """An erasure's certificate part: every certificate stays on record (number, course, JP,
    dates, status, the agency) but loses the holder's name, work unit, position and grade;
    the NIP stays until `release_erased`. Its verification page then shows no personal
    data."""
    session.execute(
        update(Certificate)
        .where(col(Certificate.user_id) == user_id)
        .values(
            holder_name="",
            holder_work_unit="",
            holder_position="",
            holder_grade="",
            holder_erased_at=utcnow(),
        )
    )
    # an officer's revocation reason may name the person; the re-issue marker stays
    session.execute(
        update(Certificate)
        .where(
            col(Certificate.user_id) == user_id,
            col(Certificate.revoked_reason).is_not(None),
            col(Certificate.revoked_reason) != REISSUED,
        )
        .values(revoked_reason="")
    )


def forget_pdfs(*, cache_dir: Any, codes: list[str]) -> None:
    """Delete the cached PDFs of these certificates (after an erasure: they bear the name)."""
    folder = Path(cache_dir)
    for code in codes:
        for cached in folder.glob(f"{code}-*.pdf"):
            cached.unlink(missing_ok=True)


def release_erased(*, session: Session, keep_years: int) -> int:
    """The end of an erased holder's NIP on their certificates, `keep_years` after the
    erasure."""
    before = utcnow() - timedelta(days=365 * keep_years)
    result = session.connection().execute(
        update(Certificate)
        .where(col(Certificate.holder_erased_at) < before, col(Certificate.holder_nip) != "")
        .values(holder_nip="")
    )
    return int(result.rowcount or 0)


PERSONAL_TABLES = ("certificate",)
