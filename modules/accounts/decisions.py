"""What every request an officer approves or refuses shares (erasures, moves): a request is
decided once; a refusal says why, in a note the person is mailed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from app.i18n import N_

NOTE_MAX = 1000


class DecisionError(ValueError):
    """A decision that cannot be made; the message is a translatable id."""


def checked_note(*, approve: bool, note: str, still_open: bool) -> str:
    """The officer's note, cleaned; refuses a second decision, a refusal without a reason and
    a note too long."""
    if not still_open:
        raise DecisionError(N_("This request was already decided."))
    note = " ".join(note.split())
    if not approve and not note:
        raise DecisionError(N_("Say why the request is refused: the person is told."))
    if len(note) > NOTE_MAX:
        raise DecisionError(N_("At most 1,000 characters."))
    return note


def settle(session: Session, model: Any, row_id: int, **values: Any) -> None:
    """Move a request out of `requested` with one conditional UPDATE: of two decisions made at
    once (two officers, a withdrawal racing an approval), one wins and the other is refused."""
    moved = session.connection().execute(
        update(model)
        .where(col(model.id) == row_id, col(model.status) == "requested")
        .values(**values)
    )
    if moved.rowcount != 1:
        session.rollback()
        raise DecisionError(N_("This request was already decided."))


def not_ones_own(officer_id: int, person_id: int | None) -> None:
    """An officer never decides their own request: another officer or an administrator does."""
    if officer_id == person_id:
        raise DecisionError(N_("You cannot decide your own request; another officer will."))
