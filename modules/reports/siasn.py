"""SIASN reference codes for the course-history export (riwayat kursus), kept here with where
they come from. SIASN (BKN's civil-service information system) records a course with the id
of its "jenis diklat" (`jenisDiklatId`), a certificate type letter (`jenisKursusSertipikat`)
and the SIASN id of the person's agency (`instansiId`). BKN publishes these references only
inside SIASN, to agencies with an account: the table below is what several agencies' SIASN
integrations published on GitHub use (read 2026-12-07), so it is *not confirmed*. A deployment
sets the code it confirmed in its own SIASN reference (BERAKHLAK_SIASN_JENIS_DIKLAT_ID, one of
these) and its agencies' SIASN ids (BERAKHLAK_SIASN_INSTANSI_IDS); until then the SIASN export
is refused with a message saying what is missing, rather than emitting a guessed code."""

from __future__ import annotations

import re
from typing import Any

SOURCE = (
    "SIASN reference 'jenis diklat' as used by agencies' SIASN integrations published on "
    "GitHub (seeders and client code), read 2026-12-07; not BKN documentation: unconfirmed"
)
# jenisDiklatId -> (name, jenisKursusSertipikat); "-": the type carries no letter
JENIS_DIKLAT: dict[str, tuple[str, str]] = {
    "1": ("Diklat Struktural", "-"),
    "2": ("Diklat Fungsional", "F"),
    "3": ("Diklat Teknis", "T"),
    "4": ("Workshop", "P"),
    "5": ("Pelatihan Manajerial", "-"),
    "6": ("Pelatihan Sosial Kultural", "-"),
    "7": ("Sosialisasi", "P"),
    "8": ("Bimbingan Teknis", "P"),
    "9": ("Seminar", "P"),
    "10": ("Magang", "P"),
}
CONFIRMED = False  # no official text was found: every deployment confirms its own code
INSTANSI_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
AGENCY_CODE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


def instansi_ids(setting: str) -> dict[str, str]:
    """`CODE=ID,CODE=ID` (an agency's code here = its SIASN instansiId) as a mapping; raises
    ValueError naming the first pair that is not one."""
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in setting.split(","))):
        code, _sep, value = (part.strip() for part in pair.partition("="))
        if not AGENCY_CODE.match(code) or not INSTANSI_ID.match(value):
            raise ValueError(f"not CODE=SIASN-ID: {pair!r}")
        found[code] = value
    return found


def sertipikat(jenis_diklat_id: str) -> str:
    """The certificate type letter that goes with a jenis diklat ("" for one with none)."""
    letter = JENIS_DIKLAT[jenis_diklat_id][1]
    return "" if letter == "-" else letter


def missing(settings: Any, agency_codes: set[str]) -> tuple[bool, list[str]]:
    """What stops a SIASN export of people of these agencies: whether the jenis diklat is
    unset, and the agencies without a SIASN id."""
    ids = instansi_ids(settings.siasn_instansi_ids)
    return not settings.siasn_jenis_diklat_id, sorted(agency_codes - set(ids))


def check_settings(settings: Any) -> None:
    """Refuse to start with a SIASN setting that is not one (raised at start-up)."""
    code = settings.siasn_jenis_diklat_id
    if code and code not in JENIS_DIKLAT:
        known = sorted(JENIS_DIKLAT, key=int)
        raise ValueError(f"BERAKHLAK_SIASN_JENIS_DIKLAT_ID={code!r} is not one of {known}")
    try:
        instansi_ids(settings.siasn_instansi_ids)
    except ValueError as exc:
        raise ValueError(f"BERAKHLAK_SIASN_INSTANSI_IDS: {exc}") from None
