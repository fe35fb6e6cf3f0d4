"""NIP (PNS) and NI PPPK numbers: 18 digits whose parts carry meaning, checked one by one.

Layout, digit positions 1-based:
  1-8   birth date YYYYMMDD
  9-14  PNS: appointment (TMT CPNS) year and month YYYYMM
        PPPK: appointment year YYYY followed by the code 21 (never a month, so PNS rules reject it)
  15    sex: 1 male, 2 female
  16-18 serial number 001-999
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.i18n import N_

PPPK_CODE = "21"
MIN_AGE_AT_APPOINTMENT = 18
MAX_AGE_AT_APPOINTMENT = 60


class NipError(ValueError):
    """The number breaks one rule; the message says which, ready for translation."""


@dataclass(frozen=True)
class Nip:
    number: str
    employment_type: str  # PNS or PPPK
    birth_date: date
    appointment_year: int
    appointment_month: int | None
    sex: str  # M or F
    serial: int


def normalise(raw: str) -> str:
    """People write NIPs with spaces or dots ("19850314 201001 1 001"); keep the digits."""
    if raw.isascii() and raw.isdigit():
        return raw  # the usual case, 50,000 times in a roster: skip the character walk
    return "".join(ch for ch in raw if not ch.isspace() and ch not in ".-")  # NBSP from PDFs too


def parse_nip(raw: str, today: date | None = None) -> Nip:
    """Validate a PNS NIP or a PPPK NI; raise NipError naming the first broken rule."""
    today = today or date.today()
    number = normalise(raw)
    if not number:
        raise NipError(N_("Enter your NIP (18 digits)."))
    if not number.isascii() or not number.isdigit():
        raise NipError(N_("A NIP contains digits only."))
    if len(number) != 18:
        raise NipError(N_("A NIP has exactly 18 digits."))
    try:
        birth = date(int(number[0:4]), int(number[4:6]), int(number[6:8]))
    except ValueError:
        raise NipError(N_("Digits 1-8 must be a real birth date (YYYYMMDD).")) from None
    if not (1940 <= birth.year <= today.year - MIN_AGE_AT_APPOINTMENT):
        raise NipError(N_("Digits 1-8: the birth year is not plausible for a civil servant."))
    year = int(number[8:12])
    code = number[12:14]
    if code == PPPK_CODE:
        employment_type, month = "PPPK", None
    else:
        employment_type, month = "PNS", int(code)
        if not 1 <= month <= 12:
            raise NipError(
                N_("Digits 13-14 must be the appointment month (01-12), or 21 for PPPK.")
            )
    if year > today.year or (month is not None and (year, month) > (today.year, today.month)):
        raise NipError(N_("Digits 9-14: the appointment date lies in the future."))
    age = year - birth.year
    if age < MIN_AGE_AT_APPOINTMENT:
        raise NipError(N_("Digits 9-12: the appointment year is less than 18 years after birth."))
    if age > MAX_AGE_AT_APPOINTMENT:
        raise NipError(N_("Digits 9-12: the appointment year is too long after the birth date."))
    sex = number[14]
    if sex not in "12":
        raise NipError(N_("Digit 15 must be 1 (male) or 2 (female)."))
    serial = int(number[15:18])
    if serial == 0:
        raise NipError(N_("Digits 16-18 must be a serial number from 001 to 999."))
    return Nip(number, employment_type, birth, year, month, "M" if sex == "1" else "F", serial)


PNS_GRADES = tuple(f"{g}/{r}" for g in ("I", "II", "III") for r in "abcd") + tuple(
    f"IV/{r}" for r in "abcde"
)
PPPK_GRADES = (
    "I",
    "II",
    "III",
    "IV",
    "V",
    "VI",
    "VII",
    "VIII",
    "IX",
    "X",
    "XI",
    "XII",
    "XIII",
    "XIV",
    "XV",
    "XVI",
    "XVII",
)


def grades_for(employment_type: str) -> tuple[str, ...]:
    """The grades (golongan) valid for an employment type."""
    return PPPK_GRADES if employment_type == "PPPK" else PNS_GRADES
