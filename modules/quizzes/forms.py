"""From submitted form fields to answers (and back, to refill the form)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.i18n import N_
from modules.courses.schemas import Question

INCOMPLETE = object()  # a matching/ordering answer with some parts still empty
# Why an answer on a page was not saved (translatable ids, shown beside the question)
NOT_ALL_PARTS = N_("Not saved yet: answer every part of this question.")
UNREADABLE = N_("This answer could not be read. Choose again.")


DEVICE = re.compile(r"^[A-Za-z0-9_-]{8,32}$")


def queued(
    form: Mapping[str, Any], question_id: str | None = None
) -> tuple[str | None, int | None]:
    """The device id and sequence number the page's queue sends with an answer (`seq`, or
    `seq-<question>` on a whole-page form): both or neither; a malformed pair counts as
    neither, and the answer is still saved."""
    device = str(form.get("device", ""))
    seq = str(form.get("seq" if question_id is None else f"seq-{question_id}", ""))
    if DEVICE.match(device) and seq.isdigit() and 0 < int(seq) < 2**31:
        return device, int(seq)
    return None, None


def field(question_id: str, part: int | None = None) -> str:
    """The form field name of a question (or of one of its parts)."""
    return f"q-{question_id}" if part is None else f"q-{question_id}-{part}"


def answer_from_form(question: Question, form: Mapping[str, Any]) -> Any:
    """The answer a form carries for a question, or None when it was left blank. Shapes are
    checked later by the service, which refuses what does not fit."""
    name = field(question.id)
    kind = question.type
    if kind == "multiple":
        values = form.getlist(name) if hasattr(form, "getlist") else form.get(name, [])
        chosen = [v for v in values if isinstance(v, str) and v != ""]
        return chosen or None
    if kind in ("matching", "ordering"):
        parts = [form.get(field(question.id, i)) for i in range(len(question.options))]
        if all(p in (None, "") for p in parts):
            return None
        if any(p in (None, "") for p in parts):
            return INCOMPLETE
        if kind == "matching":
            return list(parts)
        # ordering: each item got a position 1..n; the answer lists items by position
        positions: dict[int, int] = {}
        for item, position in enumerate(parts):
            place = str(position)
            if not place.isdigit() or int(place) - 1 in positions:
                return INCOMPLETE  # a place given twice: not an order yet
            positions[int(place) - 1] = item
        return [positions.get(p, -1) for p in range(len(parts))]
    value = form.get(name)
    return value if value not in (None, "") else None


def form_values(question: Question, answer: Any) -> dict[str, Any]:
    """What the form shows for a saved answer: field name -> value (or set of values)."""
    if answer is None:
        return {}
    kind = question.type
    if kind == "multiple":
        return {field(question.id): {str(v) for v in answer}}
    if kind == "matching":
        return {field(question.id, i): str(v) for i, v in enumerate(answer)}
    if kind == "ordering":
        return {
            field(question.id, item): str(position + 1)
            for position, item in enumerate(answer)
            if isinstance(item, int) and item >= 0
        }
    return {field(question.id): str(answer)}
