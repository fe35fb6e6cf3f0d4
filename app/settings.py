"""Typed settings, read from environment variables prefixed ``BERAKHLAK_``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    jp_target: int = Field(20, ge=1, description="Yearly JP (training hours) target shown to PNS.")
    jp_target_pppk: int = Field(24, ge=1, description="Yearly JP target shown to PPPK.")
    timezone: str = Field(
        "Asia/Jakarta",
        description="Time zone for dates shown to people and for calendar-year JP totals.",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body accepted, in bytes (413 above)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Jakarta)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

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
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")
