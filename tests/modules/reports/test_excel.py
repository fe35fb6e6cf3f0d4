"""Every export (people, JP, SIASN, the roster report) read back the way Excel reads it, with
hostile names in the data: in Indonesian Excel the columns split right and the NIP stays an
18-digit text; neither the Indonesian nor the English reading yields a formula; XLSX cells are
typed (text, numbers, dates), the sheet named in Indonesian, the header frozen and filtered."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest
from sqlmodel import Session, select

from app.spreadsheet import text_cell
from modules.accounts.models import User
from tests import excel
from tests.conftest import csrf_from
from tests.modules.reports.helpers import staff
from tests.modules.reports.test_exports import _export, pop  # noqa: F401 - the fixture

HOSTILE = {
    "done": "Budi;=cmd|' /C calc'!A0",
    "started": '=HYPERLINK("http://evil.example","klik")',
    "late": 'x,=1+1 y," =2+2',
    "idle": "x\",\"=cmd|' /C calc'!A0,",
    "old": '"kutip";-2+3\n=1+1',
}
UNIT = "+62 Biro, -SDM"


def _hostile(app, pop) -> dict[str, str]:  # noqa: F811
    nips = {}
    with Session(app.state.engine) as s:
        for key, name in HOSTILE.items():
            user = s.get(User, pop.ids[key])
            user.name = name
            user.position = "=1+2"
            s.add(user)
            nips[name] = user.nip
        s.commit()
    return nips


@pytest.mark.parametrize("kind", ["people", "jp", "siasn"])
def test_a_csv_export_reads_right_in_indonesian_excel_and_runs_nothing(app, pop, kind) -> None:  # noqa: F811
    nips = _hostile(app, pop)
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    url = _export(hr, f"{kind}:csv")
    raw = hr.get(f"{url}/download").content
    assert (
        raw.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in raw
        and not raw.startswith(b"\xef\xbb\xbfsep=")
    )
    rows = excel.read(raw, "id-ID")
    assert {len(row) for row in rows} == {len(rows[0])}, "a row split into the wrong columns"
    assert excel.formulas(rows) == []
    assert excel.formulas(excel.read(raw, "en-US")) == []
    by_name = {row[1]: row for row in rows[1:]}
    # each hostile name shown as typed, an apostrophe before whatever could start a formula
    shown = [name for name in HOSTILE.values() if text_cell(name) in by_name]
    assert shown or kind == "siasn", by_name.keys()  # SIASN carries the certificate's name
    for name in shown:
        assert by_name[text_cell(name)][0] == nips[name]  # 18 digits, as text
    with Session(app.state.engine) as s:
        known = {u.nip for u in s.exec(select(User)).all()}
    assert all(isinstance(row[0], str) and row[0] in known for row in rows[1:])


@pytest.mark.parametrize("kind", ["people", "jp"])  # SIASN's file is CSV only
def test_an_xlsx_export_has_typed_cells_and_no_formula(app, pop, kind) -> None:  # noqa: F811
    nips = _hostile(app, pop)
    hr = staff(app, "hr", pop.bkn, "198001012005011901")
    url = _export(hr, f"{kind}:xlsx")
    book = openpyxl.load_workbook(io.BytesIO(hr.get(f"{url}/download").content))
    sheet = book.active
    assert (
        sheet.title
        == {"people": "Status per pegawai", "jp": "Rekap JP", "siasn": "Riwayat kursus SIASN"}[kind]
    )
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    assert sheet.column_dimensions["A"].width >= 18
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)  # no formula anywhere
    rows = list(sheet.iter_rows(values_only=True))
    for row in rows[1:]:
        assert isinstance(row[0], str) and len(row[0]) == 18
    names = {row[1]: row for row in rows[1:]}
    for name in set(HOSTILE.values()) & set(names):
        assert names[name][0] == nips[name]  # the text as typed, never run
    if kind == "people":
        done = next(r for r in rows[1:] if r[7] == "Selesai")
        assert isinstance(done[9], datetime) and isinstance(done[10], int | float)
    if kind == "jp":
        assert all(
            isinstance(r[8], int | float) and isinstance(r[7], int | float) for r in rows[1:]
        )


def test_the_roster_report_reads_right_and_runs_nothing(app) -> None:
    from tests.modules.accounts.test_roster import BUDI, SITI, csv_bytes, row
    from tests.modules.accounts.test_roster_pages import HR_NIP, _staff, _upload

    client = _staff(app, HR_NIP)
    hostile = row(SITI, nama="Siti;=cmd|' /C calc'!A0", unit_kerja='=HYPERLINK("http://x")')
    bad = row(BUDI, nip="1", nama="@SUM(1)+2")
    sent = _upload(client, csv_bytes(hostile, bad))
    page = sent.headers["location"]
    raw = client.get(f"{page}/report.csv").content
    rows = excel.read(raw, "id-ID")
    assert {len(r) for r in rows} == {6}
    assert excel.formulas(rows) == [] and excel.formulas(excel.read(raw, "en-US")) == []
    assert rows[1][1] == SITI[0] and rows[1][2] == text_cell("Siti;=cmd|' /C calc'!A0")
    assert rows[2][2] == text_cell("@SUM(1)+2")
    assert csrf_from(client, page)
