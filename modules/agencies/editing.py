"""Admins keep the agency list: edit or add one in the browser, or import a CSV (dry run
first; applied rows land in one transaction). Every change is audited."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlmodel import Session, select

from app.i18n import N_
from modules.agencies.models import Agency
from modules.agencies.service import KINDS
from modules.audit import service as audit

CODE = re.compile(r"^[A-Z0-9][A-Z0-9.-]{1,31}$")
COLUMNS = ("code", "name", "kind", "parent_code")
MAX_BYTES = 2_000_000
MAX_ROWS = 20_000


@dataclass
class AgencyInput:
    code: str
    name: str
    kind: str
    parent_code: str | None = None
    active: bool | None = True  # None: leave as it is (a new agency is active)


def check(
    values: dict[str, str], known_codes: set[str]
) -> tuple[AgencyInput | None, dict[str, str]]:
    """An agency from form or CSV fields, or the problems per field (translatable ids)."""
    code = values.get("code", "").strip().upper()
    name = " ".join(values.get("name", "").split())
    kind = values.get("kind", "").strip().lower()
    parent = values.get("parent_code", "").strip().upper() or None
    errors: dict[str, str] = {}
    if not CODE.match(code):
        errors["code"] = N_("Use 2-32 capital letters, digits, dots or dashes, e.g. KB-3273.")
    if not 3 <= len(name) <= 200 or not name.isprintable():
        errors["name"] = N_("Give the agency's name (3 to 200 characters).")
    if kind not in KINDS:
        errors["kind"] = N_("Choose the kind from the list.")
    if parent is not None and (parent == code or parent not in known_codes):
        errors["parent_code"] = N_("The parent must be another agency's code.")
    active_text = (values.get("active") or "").strip()
    if active_text not in ("", "0", "1"):
        errors["active"] = N_("Write 1 (active) or 0 (inactive), or leave it empty.")
    if errors:
        return None, errors
    # empty: unchanged for a known agency, active for a new one (decided by the caller)
    active = None if active_text == "" else active_text == "1"
    return AgencyInput(code, name, kind, parent, active), {}


def save(
    *,
    session: Session,
    agency: Agency | None,
    data: AgencyInput,
    actor_id: int | None,
    address: str,
) -> Agency:
    """Create (agency None) or update an agency, audited; commits."""
    if agency is None:
        taken = session.exec(select(Agency).where(Agency.code == data.code)).first()
        if taken is not None:
            raise ValueError(N_("An agency with this code already exists."))
        agency = Agency(code=data.code, name=data.name, kind=data.kind)
        action = "agency.create"
    else:
        action = "agency.update"
    before = {"name": agency.name, "kind": agency.kind, "active": agency.active}
    agency.name, agency.kind = data.name, data.kind
    agency.parent_code = data.parent_code
    if data.active is not None:
        agency.active = data.active
    session.add(agency)
    audit.record(
        session=session,
        actor_id=actor_id,
        action=action,
        subject_type="agency",
        subject_id=data.code,
        detail={"before": before, "name": data.name, "kind": data.kind, "active": data.active},
        address=address,
    )
    session.commit()
    session.refresh(agency)
    return agency


@dataclass
class ImportRow:
    line: int
    code: str
    outcome: str  # created, updated, unchanged, rejected
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportReport:
    rows: list[ImportRow]
    problem: str | None = None  # the whole file was refused (translatable id)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)


def import_csv(
    *,
    session: Session,
    raw: bytes,
    apply: bool,
    actor_id: int | None,
    address: str,
) -> ImportReport:
    """Read a CSV of agencies (`code,name,kind,parent_code[,active]`) and say what each row
    would do; with `apply`, do all valid rows in one transaction (nothing when the file
    itself is refused). Importing the same file twice changes nothing the second time."""
    if len(raw) > MAX_BYTES:
        return ImportReport([], N_("The file is larger than 2 MB; split it."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ImportReport([], N_("The file is not UTF-8 text; save it as CSV UTF-8."))
    first = text.splitlines()[0] if text.strip() else ""
    if ";" in first and "," not in first:
        return ImportReport([], N_("The columns are separated by ';': use commas."))
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        return ImportReport(
            [], N_("Missing columns: the first line must be code,name,kind,parent_code.")
        )
    existing = {a.code: a for a in session.exec(select(Agency)).all()}
    rows_in = list(reader)
    if len(rows_in) > MAX_ROWS:
        return ImportReport([], N_("The file has more than 20,000 rows; split it."))
    known = set(existing) | {(r.get("code") or "").strip().upper() for r in rows_in}
    report: list[ImportRow] = []
    changes: list[tuple[Agency | None, AgencyInput]] = []
    seen: set[str] = set()
    for line, row in enumerate(rows_in, start=2):
        values = {k: (v or "") for k, v in row.items() if isinstance(k, str)}
        data, errors = check(values, known)
        if data is not None and data.code in seen:
            errors = {"code": N_("This code appears twice in the file.")}
        if data is None or errors:
            report.append(ImportRow(line, values.get("code", ""), "rejected", errors))
            continue
        seen.add(data.code)
        current = existing.get(data.code)
        if current is None:
            report.append(ImportRow(line, data.code, "created"))
            changes.append((None, data))
        elif (current.name, current.kind, current.parent_code, current.active) == (
            data.name,
            data.kind,
            data.parent_code,
            current.active if data.active is None else data.active,
        ):
            report.append(ImportRow(line, data.code, "unchanged"))
        else:
            report.append(ImportRow(line, data.code, "updated"))
            changes.append((current, data))
    if apply and changes:
        for agency, data in changes:
            target = agency or Agency(code=data.code, name=data.name, kind=data.kind)
            target.name, target.kind = data.name, data.kind
            target.parent_code = data.parent_code
            if data.active is not None:
                target.active = data.active
            session.add(target)
        audit.record(
            session=session,
            actor_id=actor_id,
            action="agency.import",
            subject_type="agency",
            subject_id="*",
            detail={
                "created": sum(1 for a, _d in changes if a is None),
                "updated": sum(1 for a, _d in changes if a is not None),
            },
            address=address,
        )
        session.commit()
    return ImportReport(report)
