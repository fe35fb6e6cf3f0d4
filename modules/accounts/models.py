"""Accounts: users, role grants, login sessions and login throttling."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, LargeBinary, true
from sqlmodel import Field, SQLModel

from app.clock import utcnow


def _ts(**kw: object) -> Column:
    return Column(DateTime(timezone=True), **kw)  # type: ignore[arg-type]


class User(SQLModel, table=True):
    # Reports read an agency's people by unit (and everyone by agency) from this index alone,
    # without visiting the wide user rows (bench/reports.py, docs/benchmarks.md).
    __table_args__ = (
        Index("ix_user_agency_id_active_work_unit", "agency_id", "active", "work_unit", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    nip: str = Field(max_length=18, unique=True)
    employment_type: str = Field(max_length=4)  # PNS or PPPK, read from the number
    name: str = Field(max_length=120)
    # stored lower-case; None only for a person a roster listed without one (cannot be invited)
    email: str | None = Field(default=None, max_length=254, unique=True)
    password_hash: str = Field(max_length=255)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    work_unit: str = Field(max_length=200)
    position: str = Field(max_length=200)
    grade: str = Field(max_length=10)
    locale: str | None = Field(default=None, max_length=5)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    # when the person showed they read mail at `email` (None: not yet; docs/identity.md)
    email_verified_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # whether the person wants due-date reminders by mail (turned off by the mails' unsubscribe)
    reminders: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    # erased at the person's request: the row stays as the anchor of the records kept for
    # legal reasons (docs/privacy.md, "Erasure"), emptied of everything else
    erased_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # the privacy notice the person acknowledged (app/privacy.py), and when
    privacy_version: str | None = Field(default=None, max_length=40)
    privacy_acknowledged_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class RoleGrant(SQLModel, table=True):
    """A role beyond learner, with its scope: an HR grant names an agency (and optionally one
    work unit of it); a trainer grant names a course (none: every course, as granted before
    scopes existed); an admin grant has no scope."""

    __tablename__ = "role_grant"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=20)  # trainer, hr, admin
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    work_unit: str | None = Field(default=None, max_length=200)
    course_id: str | None = Field(default=None, foreign_key="course.id", max_length=64)
    granted_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class AuthSession(SQLModel, table=True):
    """A login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "auth_session"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    user_agent: str = Field(default="", max_length=200)


class RosterUpload(SQLModel, table=True):
    """An uploaded roster file, kept between its dry run and the confirmation that applies it
    (any server process may serve the confirmation). Removed a day after upload."""

    __tablename__ = "roster_upload"
    id: str = Field(primary_key=True, max_length=32)  # unguessable: it appears in forms
    user_id: int = Field(foreign_key="user.id", index=True)
    filename: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    rows: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    applied_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ApiToken(SQLModel, table=True):
    """A bearer token for an HR system. It acts with its owner's current HR scope; only the
    SHA-256 of the secret is stored, and the first characters identify it in lists."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class AccountLink(SQLModel, table=True):
    """A single-use link mailed to a person (a password reset): only the SHA-256 of its token is
    kept, with the one purpose it serves, the address it went to and when it stops working."""

    __tablename__ = "account_link"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    purpose: str = Field(max_length=20)
    sent_to: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class RosterEntry(SQLModel, table=True):
    """The agency whose roster last listed a NIP, and the email it gave: that agency's HR
    resolves disputes over the NIP, and only that email may register it (docs/identity.md)."""

    __tablename__ = "roster_entry"
    nip: str = Field(primary_key=True, max_length=18)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    work_unit: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class NipDispute(SQLModel, table=True):
    """Someone says a NIP held by another account is theirs. Filed without an account (the
    NIP is taken), opened once the claimant confirmed their address, resolved by HR of the
    agency whose roster holds the NIP (an administrator where none does)."""

    __tablename__ = "nip_dispute"
    id: int | None = Field(default=None, primary_key=True)
    nip: str = Field(max_length=18, index=True)
    holder_id: int = Field(foreign_key="user.id", index=True)  # the account holding the NIP
    # whose HR resolves it: the roster's agency and unit (None: an administrator)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    work_unit: str = Field(default="", max_length=200)
    claimant_name: str = Field(max_length=120)
    claimant_email: str = Field(max_length=254)
    statement: str = Field(max_length=2000)
    locale: str = Field(default="id", max_length=5)  # the claimant's language, for mail
    status: str = Field(default="unconfirmed", max_length=12, index=True)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)  # confirmation
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    resolved_by: int | None = Field(default=None, foreign_key="user.id")
    note: str = Field(default="", max_length=2000)


class ErasureRequest(SQLModel, table=True):
    """A person's request to erase their account (UU 27/2022 Pasal 8 and 43): decided by an
    administrator or HR of the person's agency, carried out by the worker."""

    __tablename__ = "erasure_request"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    status: str = Field(max_length=12, index=True)  # requested, approved, refused, withdrawn, done
    reason: str = Field(default="", max_length=1000)  # the person's own words (optional)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    note: str = Field(default="", max_length=1000)  # the decision's reason, mailed to the person
    done_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ErasedNip(SQLModel, table=True):
    """A NIP whose account was erased, as a keyed digest: a later roster never re-creates the
    person, also after the NIP itself is gone from the kept records."""

    __tablename__ = "erased_nip"
    digest: str = Field(primary_key=True, max_length=64)
    erased_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class MoveRequest(SQLModel, table=True):
    """A person on an agency's roster asked to move to another agency or work unit: it waits
    for HR of the agency whose roster holds them (or an administrator); meanwhile reports keep
    them where they were."""

    __tablename__ = "move_request"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    status: str = Field(max_length=12, index=True)  # requested, approved, refused, withdrawn
    from_agency_id: int = Field(foreign_key="agency.id")
    from_unit: str = Field(max_length=200)
    to_agency_id: int = Field(foreign_key="agency.id")
    to_unit: str = Field(max_length=200)
    # whose HR decides: the roster that listed the person when they asked
    roster_agency_id: int = Field(foreign_key="agency.id", index=True)
    roster_unit: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    note: str = Field(default="", max_length=1000)
