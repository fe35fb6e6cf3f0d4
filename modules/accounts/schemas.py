"""Account forms: raw input in, field errors (translatable message ids) out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from app.i18n import N_
from app.security import MIN_PASSWORD_LENGTH
from modules.accounts.nip import PNS_GRADES, PPPK_GRADES, NipError, grades_for, parse_nip
from modules.accounts.passwords import too_guessable

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COMMON_PASSWORDS = {
    "password1234",
    "123456789012",
    "qwertyuiopas",
    "passwordpassword",
    "bangsaindonesia",
    "indonesiaraya",
    "berakhlak123",
}


class FormError(Exception):
    """A form failed validation; `errors` maps field name to a translatable message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def password_problem(
    password: str, *, nip: str = "", email: str = "", name: str = "", agency: str = ""
) -> str | None:
    """Why a new password is not acceptable, or None: too short or long, the person's NIP or
    email in it, or too easy to guess for someone who knows the person (passwords.py)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("Use at least 12 characters for your password.")
    if len(password) > 256:
        return N_("Use at most 256 characters for your password.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        return N_("This password is too easy to guess; choose a less common one.")
    local = email.split("@")[0].lower() if email else ""
    if (nip and nip in password) or (len(local) >= 4 and local in lowered):
        return N_(
            "Do not use your NIP, or the part of your email address before the @ (often "
            "your name), in your password."
        )
    if too_guessable(password, nip=nip, name=name, email=email, agency=agency):
        return N_("This password is too easy to guess; choose a less common one.")
    return None


def _text(
    data: dict[str, str],
    name: str,
    errors: dict[str, str],
    *,
    max_len: int = 200,
    required: bool = True,
) -> str:
    value = " ".join((data.get(name) or "").split())
    if not value.isprintable():  # NUL and other control characters: PostgreSQL refuses them
        errors[name] = N_("This text contains characters that are not allowed.")
    elif required and not value:
        errors[name] = N_("This field is required.")
    elif len(value) > max_len:
        errors[name] = N_("This text is too long.")
    return value


@dataclass
class ProfileInput:
    name: str
    email: str
    agency_id: int
    work_unit: str
    position: str
    grade: str


@dataclass
class RegistrationInput(ProfileInput):
    nip: str
    employment_type: str
    password: str = field(repr=False)


def _profile(
    data: dict[str, str], employment_type: str, errors: dict[str, str], agency_ids: set[int]
) -> ProfileInput:
    name = _text(data, "name", errors, max_len=120)
    email = _text(data, "email", errors, max_len=254).lower()
    if email and "email" not in errors and not EMAIL_RE.match(email):
        errors["email"] = N_("Enter a valid email address, e.g. nama@instansi.go.id.")
    # the id the router resolved from the typed name (or a script sent); the error belongs to
    # the field people see, the agency's name box
    agency_raw = (data.get("agency_id") or "").strip()
    agency_id = int(agency_raw) if agency_raw.isdigit() else 0
    if agency_id not in agency_ids:
        errors["agency"] = N_("Choose your agency from the list.")
    work_unit = _text(data, "work_unit", errors)
    position = _text(data, "position", errors)
    grade = (data.get("grade") or "").strip()
    if grade not in grades_for(employment_type):
        errors["grade"] = (
            N_("Choose a PPPK grade (I-XVII).")
            if employment_type == "PPPK"
            else N_("Choose a PNS grade (golongan/ruang, e.g. III/a).")
        )
    return ProfileInput(name, email, agency_id, work_unit, position, grade)


def parse_registration(
    data: dict[str, str],
    agency_ids: set[int],
    today: date | None = None,
    agency_names: dict[int, str] | None = None,
) -> RegistrationInput:
    """Validate a registration form; raise FormError with every field's problem."""
    errors: dict[str, str] = {}
    nip_number, employment_type = "", "PNS"
    try:
        nip = parse_nip(data.get("nip") or "", today)
        nip_number, employment_type = nip.number, nip.employment_type
    except NipError as exc:
        errors["nip"] = str(exc)
    profile = _profile(data, employment_type, errors, agency_ids)
    if "nip" in errors and profile.grade in PNS_GRADES + PPPK_GRADES:
        errors.pop("grade", None)  # which list applies is known once the number is valid
    password = data.get("password") or ""
    problem = password_problem(
        password,
        nip=nip_number,
        email=profile.email,
        name=profile.name,
        agency=(agency_names or {}).get(profile.agency_id, ""),
    )
    if problem:
        errors["password"] = problem
    elif password != (data.get("password_confirm") or ""):
        errors["password_confirm"] = N_("The two passwords do not match.")
    if errors:
        raise FormError(errors)
    return RegistrationInput(
        **vars(profile), nip=nip_number, employment_type=employment_type, password=password
    )


def parse_profile(data: dict[str, str], employment_type: str, agency_ids: set[int]) -> ProfileInput:
    """Validate a profile edit; raise FormError with every field's problem."""
    errors: dict[str, str] = {}
    profile = _profile(data, employment_type, errors, agency_ids)
    if errors:
        raise FormError(errors)
    return profile
