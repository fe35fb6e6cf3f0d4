"""Certificates: the public record of a completion, numbered per year, with a snapshot of the
holder as they were when it was issued; the yearly counters; the platform's signing keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class Certificate(SQLModel, table=True):
    """One certificate. A completion gets revision 1; a re-issue (after a name correction) is
    a new certificate with the next revision that `replaces` the old one."""

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "revision"),
        UniqueConstraint("generation", "year", "serial"),
        # ids are status-list indexes: never reused, not even after a restore (which moves
        # the sequence past every id the issuance log has seen)
        {"sqlite_autoincrement": True},
    )
    id: int | None = Field(default=None, primary_key=True)  # also its status-list index
    number: str = Field(max_length=64, unique=True)  # public, e.g. BA/2026/000123
    code: str = Field(max_length=16, unique=True)  # unguessable, for /verify/{code} and the QR
    year: int
    serial: int
    generation: int = 0  # the restore generation it was numbered in (see app/backup.py)
    user_id: int = Field(foreign_key="user.id", index=True)
    course_id: str = Field(foreign_key="course.id", max_length=64, index=True)
    revision: int = 1
    replaces_id: int | None = Field(default=None, foreign_key="certificate.id")
    # the holder and course as they were at issue time
    holder_name: str = Field(max_length=120)
    holder_nip: str = Field(max_length=18)
    holder_ref: str = Field(max_length=45)  # urn:uuid:… in credentials (see service.holder_ref)
    holder_employment_type: str = Field(max_length=4)
    holder_agency: str = Field(max_length=200)
    holder_work_unit: str = Field(max_length=200)
    holder_position: str = Field(max_length=200)
    holder_grade: str = Field(max_length=10)
    course_title: str = Field(max_length=200)
    jp: int
    content_version_id: int = Field(foreign_key="content_version.id")
    content_version: str = Field(max_length=80)  # the version label shown and signed
    completed_at: datetime = Field(sa_column=_ts())
    issued_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    valid_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    signer_name: str = Field(max_length=120)
    signer_title: str = Field(max_length=200)
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_reason: str | None = Field(default=None, max_length=500)
    # the holder's account was erased: the record stays (number, course, JP, dates, agency,
    # and the NIP for BERAKHLAK_ERASURE_KEEP_YEARS), without their name or position
    holder_erased_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class CertificateCounter(SQLModel, table=True):
    """The last serial used in a year: numbers are taken under its row lock, in the same
    transaction as the certificate, so a failed issue gives its number back (no gaps)."""

    __tablename__ = "certificate_counter"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class SigningKey(SQLModel, table=True):
    """A signing key: RSA for RS256 (what every Open Badges 3.0 verifier must accept; new
    keys) or Ed25519 for EdDSA (keys made before). The newest active key signs; retired keys
    stay published so that the credentials they signed still verify. The private key is
    stored encrypted with the platform secret."""

    __tablename__ = "signing_key"
    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(default="RS256", max_length=10, sa_column_kwargs={"server_default": "EdDSA"})
    public_jwk: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    private_pem: str = Field(sa_column=Column(Text, nullable=False))  # PKCS#8, encrypted
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    retired_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
