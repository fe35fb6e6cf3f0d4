"""Export files: people's status in a course, the JP recap, and SIASN-shaped course history,
as CSV or XLSX. Rows come from a server-side cursor and go straight to the file, so memory
stays flat whatever the size (XlsxWriter in constant-memory mode)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from sqlalchemy import and_, select

from app import spreadsheet
from app.i18n import N_, gettext
from modules.accounts.service import Scope
from modules.reports import queries, siasn
from modules.reports.queries import Filters, Window

KINDS = ("people", "jp", "siasn", "after")
FORMATS = ("csv", "xlsx")
STATUS_LABELS = {
    "completed": N_("Completed"),
    "overdue": N_("Overdue"),
    "in_progress": N_("In progress"),
    "not_started": N_("Not started"),
    "met": N_("Minimum reached (PNS)"),
    "below": N_("Below the minimum (PNS)"),
    "within": N_("Within the PPPK ceiling"),
    "above": N_("Above the PPPK ceiling"),
}
PEOPLE_HEADER = (
    N_("NIP"),
    N_("Name"),
    N_("Agency"),
    N_("Work unit"),
    N_("Position"),
    N_("Grade"),
    N_("Employment type"),
    N_("Status"),
    N_("Due date"),
    N_("Completed on"),
    N_("JP"),
    N_("Certificate number"),
)
JP_HEADER = (
    N_("NIP"),
    N_("Name"),
    N_("Agency"),
    N_("Work unit"),
    N_("Position"),
    N_("Grade"),
    N_("Employment type"),
    N_("Year"),
    N_("JP earned"),
    N_("JP minimum (PNS)"),
    N_("JP ceiling (PPPK)"),
    N_("Status"),
)
AFTER_HEADER = (
    N_("Group"),
    N_("Completed"),
    N_("Pre-test and post-test (people)"),
    N_("Pre-test mean"),
    N_("Post-test mean"),
    N_("Gain"),
    N_("Reaction survey (people)"),
    N_("Reaction mean"),
    N_("Action plans"),
    N_("Plans reported"),
    N_("Confirmed by a supervisor"),
    N_("Of them, by a colleague on the roster"),
    N_("Follow-up (people)"),
    N_("Self-assessment change"),
)
# The fields of SIASN's course history (riwayat kursus), in its own names, so HR can paste
# or map the rows when they record the training in SIASN (modules/reports/siasn.py: the codes)
SIASN_HEADER = (
    "nip",
    "nama",
    "instansi_id",
    "jenis_diklat_id",
    "jenis_kursus_sertipikat",
    "nama_kursus",
    "institusi_penyelenggara",
    "jumlah_jam",
    "nomor_sertipikat",
    "tanggal_kursus",
    "tanggal_selesai_kursus",
    "tahun_kursus",
    "url_sertipikat",
)


def _local_day(value: datetime | date | None, tz: ZoneInfo) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(tz).date()
    return value


def _people(ctx: ExportContext) -> Iterator[tuple[Any, ...]]:
    for p in queries.people_rows(
        conn=ctx.conn, scope=ctx.scope, filters=ctx.filters, window=ctx.window
    ):
        yield (
            p.nip,
            p.name,
            p.agency,
            p.unit,
            p.position,
            p.grade,
            p.employment_type,
            gettext(STATUS_LABELS[p.status]),
            p.due_on,
            _local_day(p.completed_at, ctx.tz),
            p.jp,
            p.certificate or "",
        )


def _jp(ctx: ExportContext) -> Iterator[tuple[Any, ...]]:
    query = queries.jp_query(
        scope=ctx.scope, filters=ctx.filters, year=ctx.year, tz=ctx.tz, targets=ctx.targets
    ).order_by(queries.agency_t.c.name, queries.user_t.c.work_unit, queries.user_t.c.name)
    rows = ctx.conn.execution_options(stream_results=True, yield_per=2000).execute(query)
    for r in rows:
        status = queries.jp_status(r)
        yield (
            r.nip,
            r.name,
            r.agency,
            r.work_unit,
            r.position,
            r.grade,
            r.employment_type,
            ctx.year,
            r.jp,
            r.target if r.target is not None else "",
            r.ceiling if r.ceiling is not None else "",
            gettext(STATUS_LABELS[status]),
        )


def _siasn(ctx: ExportContext) -> Iterator[tuple[Any, ...]]:
    """One row per valid certificate of the course, for the people in scope."""
    cert = queries.certificate_t
    user = queries.user_t
    enrol = queries.enrol_t
    conditions = queries._conditions(ctx.scope, ctx.filters, ctx.window)
    query = (
        select(
            user.c.nip,
            cert.c.holder_name,
            cert.c.course_title,
            cert.c.jp,
            cert.c.number,
            cert.c.code,
            queries.agency_t.c.code.label("agency_code"),
            enrol.c.started_at,
            cert.c.completed_at,
        )
        .select_from(
            queries._joined(ctx.filters.course_id)
            .join(
                cert,
                and_(
                    cert.c.user_id == user.c.id,
                    cert.c.course_id == ctx.filters.course_id,
                    cert.c.revoked_at.is_(None),
                ),
            )
            .join(queries.agency_t, queries.agency_t.c.id == user.c.agency_id)
        )
        .where(*conditions, cert.c.completed_at < ctx.window.end)
        .order_by(cert.c.id)
    )
    if ctx.window.start is not None:
        query = query.where(cert.c.completed_at >= ctx.window.start)
    rows = ctx.conn.execution_options(stream_results=True, yield_per=2000).execute(query)
    for r in rows:
        finished = _local_day(r.completed_at, ctx.tz)
        started = _local_day(r.started_at, ctx.tz) if r.started_at else finished
        jenis = ctx.siasn["jenis_diklat_id"]
        yield (
            r.nip,
            r.holder_name,
            ctx.siasn["instansi"].get(r.agency_code, ""),
            jenis,
            siasn.sertipikat(jenis) if jenis else "",
            r.course_title,
            ctx.organiser,
            r.jp,
            r.number,
            _siasn_day(min(started, finished) if started and finished else finished),
            _siasn_day(finished),
            finished.year if finished else "",
            f"{ctx.siasn['base_url']}/verify/{r.code}",
        )


def _after(ctx: ExportContext) -> Iterator[tuple[Any, ...]]:
    """The after-course report's rows (computed by the job, few: one per group), groups too
    small to show keeping only their count."""

    def num(value: float | None) -> Any:
        return "" if value is None else round(value, 2)

    for row in ctx.after_rows:
        label = row.label if row.key is not None else gettext("All in scope")
        if row.hidden:
            yield (label, row.completed, *([""] * 12))
            continue
        yield (
            label,
            row.completed,
            row.pairs,
            num(row.pre),
            num(row.post),
            num(row.gain),
            row.reacted,
            num(row.reaction),
            row.plans,
            row.reported,
            row.confirmed,
            row.confirmed_roster,
            row.followed,
            num(row.change),
        )


def _siasn_day(day: date | None) -> str:
    return day.strftime("%d-%m-%Y") if day else ""


class ExportContext:
    """What an export reads from and with."""

    def __init__(
        self,
        *,
        conn: Any,
        scope: Scope,
        filters: Filters,
        window: Window,
        tz: ZoneInfo,
        year: int,
        targets: dict[str, int],
        organiser: str,
        siasn: dict[str, Any] | None = None,
        after_rows: list[Any] | None = None,
    ) -> None:
        self.conn, self.scope, self.filters, self.window = conn, scope, filters, window
        self.tz, self.year, self.targets, self.organiser = tz, year, targets, organiser
        # the SIASN codes: jenis_diklat_id, instansi (agency code -> id), base_url
        self.siasn = siasn or {"jenis_diklat_id": "", "instansi": {}, "base_url": ""}
        self.after_rows = after_rows or []  # the after-course report, per group


ROWS: dict[str, Callable[[ExportContext], Iterator[tuple[Any, ...]]]] = {
    "people": _people,
    "jp": _jp,
    "siasn": _siasn,
    "after": _after,
}


def header(kind: str) -> list[str]:
    """Column names of an export, in the requester's language (SIASN keeps its own)."""
    if kind == "siasn":
        return list(SIASN_HEADER)
    names = {"people": PEOPLE_HEADER, "jp": JP_HEADER, "after": AFTER_HEADER}[kind]
    return [gettext(h) for h in names]


SHEET_NAMES = {
    "people": N_("Status per person"),
    "jp": N_("JP recap"),
    "siasn": N_("SIASN course history"),
    "after": N_("After the course"),
}
WIDTHS = {
    "people": (20, 30, 34, 30, 30, 8, 10, 16, 12, 12, 6, 22),
    "jp": (20, 30, 34, 30, 30, 8, 10, 8, 10, 10, 10, 22),
    "siasn": (20, 30, 34, 10, 10, 34, 34, 10, 22, 14, 14, 12, 50),
    "after": (34, 10, 12, 10, 10, 8, 12, 10, 10, 10, 12, 12, 12, 12),
}


def write(
    *,
    kind: str,
    fmt: str,
    ctx: ExportContext,
    path: Path,
    progress: Callable[[int], None],
    every: int = 5000,
) -> int:
    """Write an export to `path` (app/spreadsheet.py: the CSV Excel in Indonesian splits
    into columns, or XLSX with typed cells), calling `progress(rows so far)` every `every`
    rows; returns the number of rows."""
    rows = ROWS[kind](ctx)
    count = 0
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            for count in spreadsheet.write_csv(out, header(kind), rows):
                if count % every == 0:
                    progress(count)
        return count
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "in_memory": False})
    try:
        sheet = spreadsheet.Sheet(book, gettext(SHEET_NAMES[kind]), header(kind), WIDTHS[kind])
        for row in rows:
            sheet.add(row)
            count += 1
            if count % every == 0:
                progress(count)
        sheet.close()
    finally:
        book.close()
    return count
