"""The privacy notice (UU 27/2022 Pasal 21): what the platform collects, why, on which legal
basis, for how long, who the controller is and how to reach them. Its words are in
templates/privacy.html; the controller's details are settings. Its version changes when either
does, and every person acknowledges the current version (at registration, when claiming an
account, and again at their next visit after a change)."""

from __future__ import annotations

import hashlib
from typing import Any

# the date of the notice's current wording: change it with the words (templates/privacy.html)
NOTICE_DATE = "2026-12-07"


def controller(settings: Any) -> dict[str, str]:
    """Who is responsible for the data, as the notice names them."""
    return {
        "name": settings.privacy_controller or settings.issuer_name,
        "address": settings.privacy_address,
        "contact": settings.privacy_contact,
    }


def version(settings: Any) -> str:
    """The current notice: its wording's date and a digest of the controller's details (a
    new controller or contact is a new notice, acknowledged again)."""
    who = controller(settings)
    digest = hashlib.sha256("\n".join(who.values()).encode()).hexdigest()[:8]
    return f"{NOTICE_DATE}.{digest}"
