"""One roster row on its own: each cell checked (NIP rules, the type it encodes, grade for the
type, agency known, active and in the uploader's scope), with the column and a translatable
reason for every problem. Rows compared with each other and with stored people: roster.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from app.i18n import N_
from modules.accounts.grants import Scope
from modules.accounts.nip import NipError, grades_for, normalise, parse_nip
from modules.accounts.roster_file import RosterRow
from modules.accounts.schemas import EMAIL_RE

_SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?[eE]\+?\d+")


class Reason(NamedTuple):
    column: str  # canonical column (roster_file.COLUMNS)
    message: str  # translatable id with %-fields
    values: dict[str, object]


@dataclass(slots=True)
class RowResult:
    row: int
    nip: str
    name: str
    outcome: str = "rejected"
    fields: tuple[str, ...] = ()  # updated: the columns that change
    reasons: list[Reason] = field(default_factory=list)


@dataclass(slots=True)
class Person:
    """A row whose every cell is valid, as it would be stored."""

    result: RowResult
    nip: str
    employment_type: str
    name: str
    email: str  # "" when the roster gives none: the person cannot be invited until it does
    agency_id: int
    unit: str
    position: str
    grade: str


def _grade(text: str) -> str:
    """ "iii / A" -> "III/a"; PPPK grades in capitals."""
    compact = "".join(text.split())
    left, slash, right = compact.partition("/")
    return f"{left.upper()}/{right.lower()}" if slash else compact.upper()


def _text(value: str, limit: int) -> bool:
    return 0 < len(value) <= limit and value.isprintable()


def _identity(row: RosterRow, kind: str, today: date, reasons: list[Reason]) -> str | None:
    """The employment type the NIP encodes (None when the NIP is refused); the type column
    must name it."""
    nip_type = None
    # an XLSX number cell, or the scientific notation Excel writes into a CSV for one
    if row.numeric_nip or _SCIENTIFIC.fullmatch(row.cells[0]):
        message = N_(
            "The NIP is stored as a number, which keeps only 15 digits: format the NIP column "
            "as Text and type the numbers again."
        )
        reasons.append(Reason("nip", message, {}))
    else:
        try:
            nip_type = parse_nip(row.cells[0], today).employment_type
        except NipError as exc:
            reasons.append(Reason("nip", str(exc), {}))
    if kind not in ("PNS", "PPPK"):
        reasons.append(Reason("employment_type", N_("Write PNS or PPPK."), {}))
    elif nip_type and kind != nip_type:
        message = N_("The NIP is a %(nip_type)s number, but this column says %(given)s.")
        reasons.append(Reason("employment_type", message, {"nip_type": nip_type, "given": kind}))
    return nip_type


def _place(
    code: str, unit: str, agencies: dict[str, Any], scope: Scope, reasons: list[Reason]
) -> Any:
    """The agency a code names, when it is active and the row is in the uploader's scope."""
    agency = agencies.get(code.upper())
    if agency is None:
        message = N_(
            "No agency has this code; use the codes of the agency list, e.g. K3273 or LB-BKN."
        )
        reasons.append(Reason("agency", message, {}))
    elif not agency.active:
        reasons.append(Reason("agency", N_("This agency is no longer active."), {}))
    elif not scope.allows_agency(agency.id):
        reasons.append(Reason("agency", N_("You may not import people of this agency."), {}))
    elif _text(unit, 200) and not scope.covers(agency.id, unit):
        message = N_("You may only import people of the work units your HR role covers.")
        reasons.append(Reason("unit", message, {}))
    return agency


def validate(
    row: RosterRow, agencies: dict[str, Any], scope: Scope, today: date
) -> tuple[Person | None, RowResult]:
    """The row as a person to store, or None with the reasons in the result (the checks that
    need no other row and no person already stored)."""
    nip_raw, name, email, code, unit, position, grade, kind = row.cells
    result = RowResult(row.row, normalise(nip_raw), name)
    reasons = result.reasons
    kind = kind.upper()
    nip_type = _identity(row, kind, today, reasons)
    if not _text(name, 120):
        message = N_("Give the person's full name (at most 120 characters).")
        reasons.append(Reason("name", message, {}))
    email = email.strip().lower()
    if email and not (len(email) <= 254 and email.isprintable() and EMAIL_RE.match(email)):
        message = N_("Enter a valid email address, e.g. nama@instansi.go.id.")
        reasons.append(Reason("email", message, {}))
    agency = _place(code, unit, agencies, scope, reasons)
    for column, value in (("unit", unit), ("position", position)):
        if not _text(value, 200):
            message = N_("Fill this column (at most 200 characters).")
            reasons.append(Reason(column, message, {}))
    grade = _grade(grade)
    employment_type = nip_type or kind
    if grade not in grades_for(employment_type):
        message = (
            N_("Not a PPPK grade: write I to XVII.")
            if employment_type == "PPPK"
            else N_("Not a PNS grade: write the golongan/ruang, e.g. III/a.")
        )
        reasons.append(Reason("grade", message, {}))
    if reasons:
        return None, result
    person = Person(
        result, result.nip, employment_type, name, email, agency.id, unit, position, grade
    )
    return person, result
