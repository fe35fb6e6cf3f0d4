"""Work that spans accounts and other modules."""

from __future__ import annotations

from sqlmodel import Session

from app.clock import utcnow
from modules.accounts import service
from modules.progress import service as progress_service


def personal_data(*, session: Session, user_id: int) -> dict[str, object]:
    """All the platform keeps about a learner, as one document they may download (UU 27/2022)."""
    return {
        "exported_at": utcnow().isoformat(),
        "account": service.export_profile(session=session, user_id=user_id),
        "learning": progress_service.export_for(session=session, user_id=user_id),
    }
