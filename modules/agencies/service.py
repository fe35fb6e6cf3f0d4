"""Agency reference data: seeding and lookups."""

from __future__ import annotations

import csv
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
