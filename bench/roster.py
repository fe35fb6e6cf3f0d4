"""Roster import benchmark: dry run and apply of a 50,000-row roster, on SQLite or PostgreSQL.

Run: `.venv/bin/python bench/roster.py [--rows 50000] [--database-url postgresql+psycopg://...]`
(default: a temporary SQLite file; with a PostgreSQL URL a scratch database `<name>_bench_roster`
is made on that server and dropped afterwards).

Steps, each timed (wall clock, in this one process, as a web request would run them):
1. read the CSV (and, apart, the same rows as XLSX) into rows of text; keep the table as an
   upload does, and read it back (what each dry-run view, report and confirmation does);
2. dry run on an empty agency (every row created), then apply it;
3. dry run again (every row unchanged: 50,000 people looked up by NIP and email), then apply
   it (no writes);
4. a file in which every person's position changed: dry run, then apply (50,000 updates).
Peak resident memory of the process is printed at the end.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import migrate  # noqa: E402
from app.db import make_engine  # noqa: E402
from modules.accounts import roster, roster_file, roster_uploads  # noqa: E402
from modules.accounts.grants import Scope  # noqa: E402
from modules.accounts.models import RosterUpload  # noqa: E402
from modules.agencies import service as agencies_service  # noqa: E402

HEADER = "nip;nama;email;instansi;unit_kerja;jabatan;golongan;jenis_pegawai"
AGENCY = "K3273"
UNITS = [
    f"{kind} {topic}"
    for kind in ("Dinas", "Badan", "Bagian")
    for topic in (
        "Kependudukan dan Pencatatan Sipil",
        "Pendidikan dan Kebudayaan",
        "Kesehatan",
        "Pekerjaan Umum dan Penataan Ruang",
        "Perencanaan Pembangunan Daerah",
        "Kepegawaian dan Pengembangan Sumber Daya Manusia",
        "Keuangan dan Aset Daerah",
        "Sosial",
        "Perhubungan",
        "Lingkungan Hidup",
        "Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
        "Komunikasi dan Informatika",
        "Pertanian dan Ketahanan Pangan",
    )
]
POSITIONS = [
    "Analis Sumber Daya Manusia Aparatur Ahli Pertama",
    "Pengelola Layanan Operasional",
    "Penata Kelola Sistem dan Teknologi Informasi",
    "Guru Ahli Pertama",
    "Perawat Terampil",
    "Analis Kebijakan Ahli Muda",
]


def nip(i: int) -> tuple[str, str]:
    """A valid, unique NIP for person `i`, and its employment type (every fifth a PPPK)."""
    birth = date(1975, 1, 1) + timedelta(days=(i // 1998) * 37)
    sex, serial = 1 + (i // 999) % 2, i % 999 + 1
    if i % 5 == 0:
        return f"{birth:%Y%m%d}{birth.year + 27}21{sex}{serial:03d}", "PPPK"
    return f"{birth:%Y%m%d}{birth.year + 25}03{sex}{serial:03d}", "PNS"


def rows(count: int, position_suffix: str = "") -> list[list[str]]:
    out = []
    for i in range(count):
        number, kind = nip(i)
        out.append(
            [
                number,
                f"Pegawai Contoh Nomor {i:05d}",
                f"pegawai{i:05d}@bandung.go.id",
                AGENCY,
                UNITS[i % len(UNITS)],
                POSITIONS[i % len(POSITIONS)] + position_suffix,
                "VII" if kind == "PPPK" else "III/a",
                kind,
            ]
        )
    return out


def as_csv(data: list[list[str]]) -> bytes:
    return ("\n".join([HEADER, *(";".join(r) for r in data)]) + "\n").encode()


def as_xlsx(data: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER.split(";"))
    for r in data:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def timed(label: str, work):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = work()
    print(f"  {label:<44} {time.perf_counter() - start:7.2f} s", flush=True)
    return result


def scratch_postgres(url: str) -> tuple[str, object]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_bench_roster"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def run(url: str, count: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        agencies_service.seed_reference(session=session)
        agency = agencies_service.get_by_code(session=session, code=AGENCY)
        assert agency and agency.id
    scope = Scope(agencies=frozenset({agency.id}))
    first, changed = as_csv(rows(count)), as_csv(rows(count, " (mutasi)"))
    xlsx = as_xlsx(rows(count))
    print(f"  CSV {len(first) / 1e6:.1f} MB, XLSX {len(xlsx) / 1e6:.1f} MB, {count} rows")
    table = timed("read CSV", lambda: roster_file.read(first, max_rows=count))
    timed("read XLSX (same rows)", lambda: roster_file.read(xlsx, max_rows=count))
    kept = timed("keep the table (compressed JSON)", lambda: roster_uploads.pack(table))
    upload = RosterUpload(id="0" * 32, user_id=0, filename="", sha256="", content=kept)
    timed("read the kept table back", lambda: roster_uploads.table_of(upload))
    print(f"  kept table {len(kept) / 1e6:.1f} MB")
    new_table = roster_file.read(changed, max_rows=count)

    def dry(t):  # type: ignore[no-untyped-def]
        with Session(engine) as session:
            return roster.check(session=session, table=t, scope=scope, today=date.today())

    def apply(t):  # type: ignore[no-untyped-def]
        with Session(engine) as session:
            return roster.apply(
                session=session,
                table=t,
                scope=scope,
                today=date.today(),
                actor_id=None,
                address="bench",
                filename="bench.csv",
                sha256="0" * 64,
            )

    for label, t in (("all new", table), ("all unchanged", table), ("all updated", new_table)):
        plan = timed(f"dry run, {label}", lambda t=t: dry(t))
        done = timed(f"apply, {label}", lambda t=t: apply(t))
        assert plan.counts == done.counts and not done.count("rejected"), done.counts
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.database_url:
        url, drop = scratch_postgres(args.database_url)
        print("PostgreSQL")
        try:
            run(url, args.rows)
        finally:
            drop()  # type: ignore[operator]
    else:
        with tempfile.TemporaryDirectory(prefix="bench-roster-") as folder:
            print("SQLite")
            run(f"sqlite:///{folder}/bench.db", args.rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
