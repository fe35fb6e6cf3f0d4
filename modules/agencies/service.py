"""Agency reference data: seeding and lookups."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from sqlmodel import Session, func, select

from app.db import insert_for
from app.i18n import N_
from modules.agencies.models import Agency

REFERENCE_CSV = Path(__file__).parent / "data" / "agencies.csv"
KINDS = ("kementerian", "lembaga", "provinsi", "kabupaten", "kota")


def seed_reference(*, session: Session, path: Path = REFERENCE_CSV) -> int:
    """Insert reference agencies that are missing; never overwrite an admin's edits. One
    statement that skips the codes present, so instances seeding at the same moment cannot
    collide. Returns how many were added."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [
            {
                "code": row["code"],
                "name": row["name"],
                "kind": row["kind"],
                "parent_code": row["parent_code"] or None,
                "active": True,
            }
            for row in csv.DictReader(fh)
        ]
    conn = session.connection()
    before = conn.execute(select(func.count()).select_from(Agency)).scalar_one()
    conn.execute(
        insert_for(conn)(Agency.__table__).on_conflict_do_nothing(index_elements=["code"]),  # type: ignore[attr-defined]
        rows,
    )
    after = conn.execute(select(func.count()).select_from(Agency)).scalar_one()
    session.commit()
    return int(after - before)


def list_active(*, session: Session) -> list[Agency]:
    """Active agencies, grouped by kind then name, for pickers."""
    order = {kind: i for i, kind in enumerate(KINDS)}
    rows = session.exec(select(Agency).where(Agency.active == True)).all()  # noqa: E712
    return sorted(rows, key=lambda a: (order.get(a.kind, 99), a.name))


KIND_LABELS = {
    "kementerian": N_("Ministries"),
    "lembaga": N_("Government institutions"),
    "provinsi": N_("Provincial governments"),
    "kabupaten": N_("Regency governments"),
    "kota": N_("City governments"),
}


def grouped(*, session: Session) -> list[tuple[str, list[Agency]]]:
    """Active agencies grouped by kind (label message id, agencies), for a picker."""
    groups: dict[str, list[Agency]] = {kind: [] for kind in KINDS}
    for agency in list_active(session=session):
        groups.setdefault(agency.kind, []).append(agency)
    return [(KIND_LABELS.get(kind, kind), rows) for kind, rows in groups.items() if rows]


def get(*, session: Session, agency_id: int) -> Agency | None:
    """One agency by id, or None."""
    return session.get(Agency, agency_id)


def get_by_code(*, session: Session, code: str) -> Agency | None:
    """One agency by its code, or None."""
    return session.exec(select(Agency).where(Agency.code == code)).first()


def all_by_code(*, session: Session) -> dict[str, Agency]:
    """Every agency, active or not, by code (a roster names agencies by code)."""
    return {a.code: a for a in session.exec(select(Agency)).all()}


# ---- finding an agency by what a person types ------------------------------------------------
# The registration and profile forms name the agency in a text box with a <datalist> of every
# active agency, not a <select> of ~630 options: a phone's own suggestion list filters as one
# types, and without JavaScript the form still works because the server resolves the text here.

MAX_CANDIDATES = 20  # more matches than this: ask for more of the name rather than list them
MAX_TYPED = 200  # the longest name is about half this (Agency.name allows 200)
# how people shorten the kind of a regional government ("Kab. Bandung", "Pemkot Bandung")
_SHORT_WORDS = {
    "kab": "kabupaten",
    "pemkab": "kabupaten",
    "pemkot": "kota",
    "prov": "provinsi",
    "pemprov": "provinsi",
}
_SKIPPED_WORDS = {"pemerintah", "pemda"}  # every regional agency's name starts "Pemerintah"
_WORD_RE = re.compile(r"\w+")
_SIMILAR = 0.8  # how alike a mistyped word must be to a name's word to be suggested


def _words(text: str) -> list[str]:
    """The words of a name or of what was typed, case-folded, abbreviations spelt out."""
    words = _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())
    return [_SHORT_WORDS.get(w, w) for w in words if w not in _SKIPPED_WORDS]


@dataclass(frozen=True)
class AgencyLookup:
    """What a typed agency name resolves to: one agency, or the candidates to choose from."""

    agency: Agency | None = None
    candidates: tuple[Agency, ...] = ()  # at most MAX_CANDIDATES, in picker order
    count: int = 0  # how many agencies match (may exceed the candidates listed)
    similar: bool = False  # the candidates are spelt like the text, not containing it

    def problem(self, typed: str) -> str | None:
        """Why the typed text names no agency (a message id), or None when it names one."""
        if self.agency is not None:
            return None
        if not typed.strip():
            return N_("Choose your agency from the list.")
        if not self.count:
            return N_(
                "No agency matches what you typed. Check the spelling, or type part of the "
                "name, e.g. “Bandung” or “Kementerian Agama”."
            )
        if not self.candidates:
            return N_(
                "Too many agencies match what you typed. Type more of the name, e.g. "
                "“Kota Bandung” or “Kabupaten Bandung Barat”."
            )
        if self.similar:
            return N_("No agency has that name. Is it one of these?")
        return N_("Several agencies match what you typed. Choose yours below.")


def lookup(agencies: Sequence[Agency], text: str) -> AgencyLookup:
    """Resolve typed text against `agencies` (in picker order): the exact name or code (any
    case; "Kabupaten Bandung" and "Kab. Bandung" name "Pemerintah Kabupaten Bandung"; "BKN"
    is LB-BKN), else the one agency whose name contains every word typed (as a word start),
    else the candidates: several matches, or names spelt nearly like the text."""
    typed = " ".join(text.split()).casefold()
    if not typed or len(typed) > MAX_TYPED:  # no agency's name is that long: spare the search
        return AgencyLookup()
    by_code = [a for a in agencies if typed in (a.code.casefold(), _code_tail(a.code))]
    if len(by_code) == 1:
        return AgencyLookup(agency=by_code[0], count=1)
    words = _words(typed)
    names = [(a, _words(a.name)) for a in agencies]
    named = [a for a, name in names if a.name.casefold() == typed or name == words]
    if len(named) == 1:
        return AgencyLookup(agency=named[0], count=1)
    if not words:
        return AgencyLookup()
    found = [a for a, name in names if _contains(name, words, exact=True)]
    similar = not found
    if similar:
        found = [a for a, name in names if _contains(name, words, exact=False)]
    if len(found) == 1 and not similar:
        return AgencyLookup(agency=found[0], count=1)
    shown = tuple(found) if len(found) <= MAX_CANDIDATES else ()
    return AgencyLookup(candidates=shown, count=len(found), similar=similar)


def _code_tail(code: str) -> str:
    """The acronym in a central agency's code (KM-KEMENAG: "kemenag"), else ""."""
    return code.split("-", 1)[1].casefold() if "-" in code else ""


def _contains(name: list[str], typed: list[str], *, exact: bool) -> bool:
    """Every typed word starts a word of the name (or, not exact, is spelt nearly like one)."""
    if exact:
        return all(any(w.startswith(t) for w in name) for t in typed)
    return all(any(w.startswith(t) or _alike(t, w) for w in name) for t in typed)


def _alike(typed: str, word: str) -> bool:
    """A typo away: "Bandug" for "Bandung", "Kabupatn" for "Kabupaten"."""
    matcher = SequenceMatcher(None, typed, word)
    return (
        matcher.real_quick_ratio() >= _SIMILAR
        and matcher.quick_ratio() >= _SIMILAR
        and matcher.ratio() >= _SIMILAR
    )


def pick(agencies: Sequence[Agency], *, text: str, agency_id: str = "") -> AgencyLookup:
    """A form's agency: the typed text when it names one agency; else the id of a choice
    offered after an ambiguous entry (or sent by a script); else the text's candidates."""
    found = lookup(agencies, text)
    if found.agency is not None:
        return found
    chosen = agency_id.strip()
    if chosen.isdigit():
        for agency in agencies:
            if agency.id == int(chosen):
                return AgencyLookup(agency=agency, count=1)
    return found
