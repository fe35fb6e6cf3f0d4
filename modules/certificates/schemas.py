"""The shapes of data crossing the certificates module's boundary: what a completion owes (handed
over by the learning workflow, kept in the outbox), and the credential-verification API's
request and answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.clock import as_utc


@dataclass(frozen=True)
class Owed:
    """A course completion, as the certificate it owes needs it (the completion never changes
    after it is recorded, so the worker may issue from these facts at any later time)."""

    user_id: int
    course_id: str
    completed_at: datetime
    jp: int
    content_version_id: int

    def as_payload(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "course_id": self.course_id,
            "completed_at": as_utc(self.completed_at).isoformat(),
            "jp": self.jp,
            "content_version_id": self.content_version_id,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Owed:
        return cls(
            user_id=int(data["user_id"]),
            course_id=str(data["course_id"]),
            completed_at=datetime.fromisoformat(data["completed_at"]),
            jp=int(data["jp"]),
            content_version_id=int(data["content_version_id"]),
        )


class CredentialIn(BaseModel):
    """A credential to check: the VC-JWT, or the JSON we issue (as a string or an object)."""

    credential: str | dict[str, Any] = Field(
        description="The compact VC-JWT, or the enveloped JSON credential."
    )


class CheckOut(BaseModel):
    name: str = Field(description="signature, issuer, dates, status or format")
    ok: bool
    message: str = Field(description="Why, in English.")


class VerificationOut(BaseModel):
    valid: bool = Field(description="True when every check holds.")
    checks: list[CheckOut]
    verification_url: str | None = Field(
        None, description="Our public page for the certificate, when the credential is ours."
    )
