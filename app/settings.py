"""Typed settings, read from environment variables prefixed ``BERAKHLAK_``."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.db import Limits

DEFAULT_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - refused in production
ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of the platform; each one is documented in README.md (a test checks)."""

    model_config = SettingsConfigDict(env_prefix="BERAKHLAK_", extra="ignore")

    environment: Literal["development", "production", "test"] = Field(
        "development",
        description="`production` refuses the default secret and sets Secure cookies.",
    )
    database_url: str = Field(
        "sqlite:///./var/berakhlak.db",
        description="SQLAlchemy URL: SQLite file or `postgresql+psycopg://user@host/db`.",
    )
    content_dir: Path = Field(ROOT / "content", description="Folder holding one folder per course.")
    secret_key: str = Field(
        DEFAULT_SECRET, description="Signs CSRF tokens; at least 32 characters."
    )
    base_url: str = Field(
        "http://127.0.0.1:8000", description="Public URL of the site, used in links and cookies."
    )
    smtp_host: str = Field(
        "",
        description="SMTP server for outgoing mail; empty: mail is written to `MAIL_DIR` instead "
        "(the embedded default; `berakhlak mail list|show` reads it).",
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="`starttls` (upgrade after connecting, port 587), `tls` (TLS from the first "
        "byte, port 465) or `none` (a relay on the same machine or network only).",
    )
    smtp_user: str = Field("", description="SMTP login; empty: no login.")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_timeout_seconds: float = Field(
        20, gt=0, le=300, description="Longest wait for the SMTP server at each step."
    )
    mail_from: str = Field(
        "Platform BerAKHLAK <noreply@berakhlak.localhost>",
        description="Sender of every mail (`Name <address>`); its domain names the Message-IDs.",
    )
    mail_reply_to: str = Field("", description="Reply-To of every mail; empty: none.")
    email_verification: Literal["required", "off"] = Field(
        "required",
        description="`required`: a new account confirms its email address by a mailed link "
        "before its certificates are issued (it can learn meanwhile); `off`: addresses are "
        "trusted as typed.",
    )
    mail_dir: Path = Field(
        ROOT / "var" / "mail",
        description="Folder the mail goes to when `SMTP_HOST` is empty (one .eml file each).",
    )
    host: str = Field("127.0.0.1", description="Address `berakhlak serve` listens on.")
    port: int = Field(8000, description="Port `berakhlak serve` listens on.")
    workers: int = Field(1, ge=1, description="Number of server processes `berakhlak serve` runs.")
    default_locale: Literal["id", "en"] = Field("id", description="UI language for new visitors.")
    session_days: int = Field(14, ge=1, description="Days a login session lasts without activity.")
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins per account and address before a lockout."
    )
    login_lockout_minutes: int = Field(15, ge=1, description="Length of the login lockout window.")
    registrations_per_hour: int = Field(
        100, ge=1, description="Registration attempts allowed per client address per hour."
    )
    jp_target: int = Field(
        20, ge=1, description="Yearly JP (training hours) a PNS should reach: a minimum."
    )
    # PP 49/2018 Pasal 40 ayat (1): a PPPK's competence development is "paling lama 24 JP" in
    # a contract year: a ceiling, not a target (formerly BERAKHLAK_JP_TARGET_PPPK)
    jp_ceiling_pppk: int = Field(
        24, ge=1, description="JP a PPPK may take in a contract year at most: a ceiling."
    )
    upload_max_bytes: int = Field(
        50 * 1024 * 1024,
        ge=1024,
        description="Largest course archive (zip) taken in, in bytes; its own limit, apart "
        "from BERAKHLAK_MAX_BODY_BYTES.",
    )
    upload_max_files: int = Field(1000, ge=1, description="Most files a course archive may hold.")
    upload_max_unpacked_bytes: int = Field(
        200 * 1024 * 1024,
        ge=1024,
        description="Most bytes a course archive may unpack to, all files together.",
    )
    plan_report_days: int = Field(
        30,
        ge=1,
        le=365,
        description="Days after a learner writes an action plan before they are asked to "
        "report how it went.",
    )
    follow_up_days: int = Field(
        90,
        ge=1,
        le=730,
        description="Days after the action plan before the follow-up self-assessment opens.",
    )
    report_min_group: int = Field(
        5,
        ge=1,
        le=100,
        description="Fewest people who completed, in a group of the after-course report, "
        "for its scores, survey and plan figures to show (fewer: only the count).",
    )
    supervisor_link_days: int = Field(
        30, ge=1, le=90, description="Days a supervisor's emailed link to a shared plan works."
    )
    timezone: str = Field(
        "Asia/Jakarta",
        description="Time zone for dates shown to people and for calendar-year JP totals.",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body accepted, in bytes (413 above)."
    )
    issuer_name: str = Field(
        "Platform Pelatihan BerAKHLAK",
        min_length=3,
        max_length=200,
        description="Organisation that issues the certificates (on the PDF and in credentials).",
    )
    privacy_controller: str = Field(
        "",
        max_length=200,
        description="The personal-data controller named in the privacy notice (the agency or "
        "unit running this platform); empty: `ISSUER_NAME`.",
    )
    privacy_address: str = Field(
        "", max_length=300, description="The controller's postal address, in the privacy notice."
    )
    privacy_contact: str = Field(
        "",
        max_length=200,
        description="Where people exercise their rights and report a breach (the data "
        "protection officer's email or desk), in the privacy notice. Production warns at "
        "start-up while it is empty.",
    )
    certificate_number_pattern: str = Field(
        "BA/{year}/{serial:06d}{restore}",
        description="Public certificate number; `{year}`, `{serial}` (sequential per year, "
        "no gaps) and `{restore}` (empty until a backup is restored, then `-R1`, `-R2`…; or "
        "`{generation}`, the bare count) are filled in, and `{random}` (optional: 4 random "
        "characters, so the next number cannot be told from one seen).",
    )
    certificate_validity_days: int = Field(
        365, ge=0, description="Days a certificate stays valid after completion (0: no expiry)."
    )
    certificate_signer_name: str = Field(
        "Penanggung Jawab Pelatihan",
        min_length=3,
        max_length=120,
        description="Name printed above the signature line and recorded in every certificate.",
    )
    certificate_signer_title: str = Field(
        "Penyelenggara Pelatihan Nilai Dasar BerAKHLAK",
        min_length=3,
        max_length=200,
        description="Title (jabatan) of the signer.",
    )
    certificate_cache_dir: Path = Field(
        ROOT / "var" / "certificates",
        description="Folder for rendered certificate PDFs (a cache: safe to delete).",
    )
    verify_per_minute: int = Field(
        30, ge=1, description="Certificate look-ups allowed per client address per minute."
    )
    export_dir: Path = Field(
        ROOT / "var" / "exports",
        description="Folder for finished report exports; shared by every server process.",
    )
    issuance_log: Path = Field(
        ROOT / "var" / "issuance-log.jsonl",
        description="Append-only log of every certificate issued or revoked (one JSON line "
        "each), kept outside the database and meant to be shipped off the machine: after a "
        "restore from an older backup it brings back what the backup lacks.",
    )
    database_admin_url: str = Field(
        "",
        description="Direct database connection for `db upgrade`, `backup` and `restore` "
        "(pg_dump and pg_restore cannot go through PgBouncer in transaction mode); empty: "
        "DATABASE_URL.",
    )
    export_keep_hours: int = Field(
        24, ge=1, le=24 * 30, description="Hours a finished export stays downloadable."
    )
    worker_in_process: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Run a background worker inside `berakhlak serve` (`auto`: on with SQLite, "
        "off with PostgreSQL, where `berakhlak worker` runs beside the servers).",
    )
    worker_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often an idle worker looks for ready jobs."
    )
    job_lease_seconds: int = Field(
        300,
        ge=1,
        le=86_400,
        description="How long a worker holds a job before another may take it over (a worker "
        "that died lets its jobs go after this).",
    )
    job_keep_days: int = Field(
        14, ge=1, le=3650, description="Days finished background jobs are kept before deletion."
    )
    mail_keep_days: int = Field(
        90,
        ge=7,
        le=3650,
        description="Days a sent or failed mail (its address and text) is kept before deletion.",
    )
    audit_keep_days: int = Field(
        1825,
        ge=365,
        le=36_500,
        description="Days audit events (who did what, who viewed whose records) are kept; at "
        "least 365, the shortest this platform allows (docs/privacy.md).",
    )
    erasure_keep_years: int = Field(
        5,
        ge=1,
        le=100,
        description="Years an erased person's NIP stays on the records kept after an erasure "
        "(issued certificates, completed JP); then only a digest of it is kept (docs/privacy.md).",
    )
    db_connect_timeout_seconds: float = Field(
        5, gt=0, le=120, description="PostgreSQL: longest wait to establish a connection."
    )
    db_statement_timeout_seconds: float = Field(
        30,
        gt=0,
        le=3600,
        description="Longest a single statement may run (PostgreSQL: statement_timeout; "
        "SQLite: interrupted by a progress handler).",
    )
    db_busy_timeout_seconds: float = Field(
        10, gt=0, le=300, description="SQLite: longest wait for another process's write lock."
    )
    db_pool_size: int = Field(
        10, ge=1, le=200, description="PostgreSQL: connections each server process keeps."
    )
    db_max_overflow: int = Field(
        5, ge=0, le=200, description="PostgreSQL: extra connections a process may open briefly."
    )
    db_pool_timeout_seconds: float = Field(
        5, gt=0, le=120, description="PostgreSQL: longest wait for a free connection (then 503)."
    )
    db_pooler: Literal["none", "transaction"] = Field(
        "none",
        description="PostgreSQL: `transaction` when the URL points at PgBouncer in transaction "
        "mode (no prepared statements, no session settings; the pooler sets the statement "
        "timeout).",
    )
    request_timeout_seconds: float = Field(
        30, gt=0, le=3600, description="A request with no answer after this gets 503."
    )
    max_concurrent_requests: int = Field(
        100,
        ge=2,
        le=10_000,
        description="Requests one server process works on at once; more get 503 with "
        "Retry-After at once (static files and health checks excepted).",
    )
    reserved_for_answers: int = Field(
        20,
        ge=0,
        le=10_000,
        description="Of those, places only quiz answer saves and hand-ins may take.",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as one JSON object each."
    )
    metrics_dir: Path = Field(
        ROOT / "var" / "metrics",
        description="Folder where server and worker processes of this machine keep their "
        "Prometheus metrics (`serve` removes the files of processes that are gone).",
    )
    metrics_allow: str = Field(
        "127.0.0.1/32,::1/128",
        description="Addresses (comma-separated, CIDR allowed) that may read /metrics.",
    )
    metrics_token: str = Field(
        "", description="A bearer token that also opens /metrics (empty: addresses only)."
    )
    siasn_jenis_diklat_id: str = Field(
        "",
        description="The SIASN `jenisDiklatId` of this platform's courses, as confirmed in your "
        "SIASN reference (one of modules/reports/siasn.py); empty: the SIASN export is refused.",
    )
    siasn_instansi_ids: str = Field(
        "",
        description="Each agency's SIASN `instansiId`, as `CODE=ID,CODE=ID` (the agency codes "
        "of this platform); the SIASN export is refused for people of an agency without one.",
    )
    roster_max_rows: int = Field(
        60_000, ge=1, le=1_000_000, description="Most rows one roster file may have."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Jakarta)") from None
        return value

    @field_validator("mail_from", "mail_reply_to")
    @classmethod
    def _mail_address(cls, value: str) -> str:
        from email.headerregistry import Address
        from email.utils import parseaddr

        if not value:
            return value
        name, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValueError(f"{value!r} is not a mail address such as `Nama <alamat@domain>`")
        try:
            Address(display_name=name, addr_spec=address)
        except (ValueError, IndexError) as exc:
            raise ValueError(f"{value!r} is not a usable mail address ({exc})") from None
        return value

    @field_validator("certificate_number_pattern")
    @classmethod
    def _usable_pattern(cls, value: str) -> str:
        try:
            sample = value.format(year=2026, serial=1, restore="-R12", generation=12, random="K7Q2")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"certificate number pattern {value!r} is not usable ({exc}); use {{year}}, "
                "{serial} and {restore}, e.g. BA/{year}/{serial:06d}{restore}"
            ) from None
        # serials restart every year, and after a restore from an older backup, so a number
        # without the year or the restore generation would repeat
        restored = "{restore" in value or "{generation" in value
        if "{serial" not in value or "{year" not in value or not restored:
            raise ValueError(
                "certificate number pattern must contain {year}, {serial} and {restore} (or "
                "{generation}), e.g. BA/{year}/{serial:06d}{restore}"
            )
        if not 3 <= len(sample) <= 40:
            raise ValueError("certificate number pattern must give 3-40 characters")
        if any(c.isspace() or c in "?#%" for c in sample):
            raise ValueError("certificate number pattern must not give spaces, ?, # or %")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, values: Any) -> Any:
        """BERAKHLAK_JP_TARGET_PPPK was renamed BERAKHLAK_JP_CEILING_PPPK (it is a ceiling):
        an installation that still sets the old name keeps its value, with a warning."""
        old = os.environ.get("BERAKHLAK_JP_TARGET_PPPK")
        new = os.environ.get("BERAKHLAK_JP_CEILING_PPPK")
        if old and not new and isinstance(values, dict) and "jp_ceiling_pppk" not in values:
            warnings.warn(
                "BERAKHLAK_JP_TARGET_PPPK is now BERAKHLAK_JP_CEILING_PPPK (a ceiling)",
                stacklevel=2,
            )
            values = {**values, "jp_ceiling_pppk": old}
        return values

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        weak = self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        if self.environment == "production" and weak:
            raise ValueError(
                "BERAKHLAK_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)"
            )
        return self

    @property
    def db_limits(self) -> Limits:
        """The database timeouts and pool of one process."""
        return Limits(
            connect_timeout=self.db_connect_timeout_seconds,
            statement_timeout=self.db_statement_timeout_seconds,
            busy_timeout=self.db_busy_timeout_seconds,
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            pool_timeout=self.db_pool_timeout_seconds,
            pooler=self.db_pooler,
        )

    @model_validator(mode="after")
    def _reserve_fits(self) -> Settings:
        if self.reserved_for_answers >= self.max_concurrent_requests:
            raise ValueError(
                "BERAKHLAK_RESERVED_FOR_ANSWERS must be below BERAKHLAK_MAX_CONCURRENT_REQUESTS"
            )
        return self

    @property
    def runs_worker_in_process(self) -> bool:
        """Whether `berakhlak serve` runs a worker in each server process."""
        if self.worker_in_process == "auto":
            return self.database_url.startswith("sqlite")
        return self.worker_in_process == "on"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")
