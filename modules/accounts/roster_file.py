"""Read an uploaded roster (CSV or XLSX) into rows of text, or refuse the whole file with a
reason HR can act on. Checking the rows against the database is `roster.py`'s work."""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from app.i18n import N_

# Canonical columns, in the order of the example. Every one is required.
COLUMNS = ("nip", "name", "email", "agency", "unit", "position", "grade", "employment_type")
# Header names as people write them, compared in lower case without spaces, underscores,
# hyphens or dots: "Unit Kerja", "unit_kerja" and "UNIT-KERJA" are one column.
ALIASES = {
    "nip": "nip",
    "name": "name",
    "nama": "name",
    "email": "email",
    "surel": "email",
    "agency": "agency",
    "agencycode": "agency",
    "instansi": "agency",
    "kodeinstansi": "agency",
    "unit": "unit",
    "unitkerja": "unit",
    "workunit": "unit",
    "position": "position",
    "jabatan": "position",
    "grade": "grade",
    "golongan": "grade",
    "employmenttype": "employment_type",
    "jenispegawai": "employment_type",
}
SHOWN = {  # how the missing-columns message names a column (both languages, as accepted)
    "nip": "nip",
    "name": "name/nama",
    "email": "email",
    "agency": "agency/instansi",
    "unit": "unit/unit_kerja",
    "position": "position/jabatan",
    "grade": "grade/golongan",
    "employment_type": "employment_type/jenis_pegawai",
}
MAX_BYTES = 10_000_000
MAX_UNPACKED = 200_000_000  # an XLSX is a ZIP: refuse what would unpack into a memory bomb
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003) and other old Office files
SEPARATORS = (",", ";")  # Indonesian Excel saves "CSV" with ";", other locales with ","


class RosterFileError(ValueError):
    """The file as a whole cannot be read; `message` is a translatable id with %-fields."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.message, self.values = message, values


@dataclass(slots=True)
class RosterRow:
    row: int  # as the spreadsheet shows it: the header is row 1
    cells: tuple[str, ...]  # in COLUMNS order, spaces trimmed
    numeric_nip: bool = False  # the NIP cell of an XLSX held a number, not text


@dataclass
class RosterTable:
    headers: dict[str, str]  # canonical column -> the header as the file writes it
    rows: list[RosterRow]
    kind: str  # csv or xlsx
    separator: str = ""


def _key(header: str) -> str:
    text = header.replace("\ufeff", "").lower()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "_-.")


def _columns(header: list[str]) -> dict[str, int]:
    """Canonical column -> its position in the header; a column named twice is refused."""
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        column = ALIASES.get(_key(name))
        if column is None:
            continue  # other columns are allowed and ignored
        if column in found:
            raise RosterFileError(N_("The column %(column)s appears twice."), column=name.strip())
        found[column] = index
    return found


def _require(found: dict[str, int]) -> None:
    missing = [SHOWN[c] for c in COLUMNS if c not in found]
    if missing:
        raise RosterFileError(
            N_("Missing columns: %(columns)s. The first row must name the columns."),
            columns=", ".join(missing),
        )


def _not_empty(rows: list[RosterRow]) -> list[RosterRow]:
    if not rows:
        raise RosterFileError(N_("The file names the columns but has no rows below them."))
    return rows


def read(raw: bytes, *, max_rows: int) -> RosterTable:
    """The roster in `raw` (CSV in UTF-8, or XLSX), or RosterFileError."""
    if len(raw) > MAX_BYTES:
        raise RosterFileError(
            N_("The file is larger than %(limit)s MB; split it, e.g. by work unit."),
            limit=MAX_BYTES // 1_000_000,
        )
    if not raw.replace(b"\xef\xbb\xbf", b"").strip():
        raise RosterFileError(N_("The file is empty."))
    if raw.startswith(b"PK\x03\x04"):
        return _xlsx(raw, max_rows)
    if raw.startswith(OLE2):
        raise RosterFileError(
            N_("This is an old Excel file (.xls). Save it as Excel Workbook (.xlsx) or CSV UTF-8.")
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RosterFileError(
            N_("The file is UTF-16 text (Excel's 'Unicode Text'). Save it as CSV UTF-8.")
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if _looks_binary(raw):
            raise RosterFileError(_NOT_A_SPREADSHEET) from None
        raise RosterFileError(
            N_(
                "The file is not UTF-8 text (older Excel saves 'CSV' in another encoding). "
                "Save it as 'CSV UTF-8 (Comma delimited)'."
            )
        ) from None
    if _looks_binary(raw):
        raise RosterFileError(_NOT_A_SPREADSHEET)
    return _csv(text, max_rows)


_NOT_A_SPREADSHEET = N_("This file is not a CSV or XLSX spreadsheet.")


def _looks_binary(raw: bytes) -> bool:
    """NUL or many other control bytes near the start: an image, a PDF, a program."""
    head = raw[:4096]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return b"\x00" in head or controls > len(head) // 100


def _separator(first_line: str) -> str:
    """The separator that makes the most known columns of the header line."""
    best, score = ",", -1
    for candidate in SEPARATORS:
        cells = next(csv.reader([first_line], delimiter=candidate), [])
        known = sum(1 for cell in cells if _key(cell) in ALIASES)
        if known > score:
            best, score = candidate, known
    if score <= 1:
        if "\t" in first_line:
            raise RosterFileError(
                N_("The columns are separated by tabs. Save the file as CSV (with , or ;).")
            )
        if "|" in first_line:
            raise RosterFileError(
                N_("The columns are separated by '|'. Use a comma or a semicolon.")
            )
    return best


def _csv(text: str, max_rows: int) -> RosterTable:
    # a lone \r ends a line too (old Mac files; hypothesis found it)
    separator = _separator(text.splitlines()[0] if text else "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        header = next(reader, [])
        found = _columns(header)
        _require(found)
        numbered = ((n, cells) for n, cells in enumerate(reader, start=2))
        rows = _not_empty(_collect(numbered, found, max_rows))
    except csv.Error:
        raise RosterFileError(
            N_("Row %(row)s cannot be read as CSV; check its quotes."), row=reader.line_num
        ) from None
    return RosterTable({c: header[i].strip() for c, i in found.items()}, rows, "csv", separator)


def _collect(
    numbered: Iterator[tuple[int, Sequence[object]]],
    found: dict[str, int],
    max_rows: int,
    numeric_nip: bool = False,
) -> list[RosterRow]:
    """Non-blank rows with the columns we use, refusing the file past `max_rows`."""
    positions = [found[c] for c in COLUMNS]
    nip_at = found["nip"]
    rows: list[RosterRow] = []
    for number, cells in numbered:
        width = len(cells)
        texts = tuple(_text(cells[i]) if i < width else "" for i in positions)
        if not any(texts):
            continue  # blank rows (and ;;;; rows) are skipped, but keep their numbers
        if len(rows) >= max_rows:
            raise _too_many(max_rows)
        numeric = numeric_nip and nip_at < width and _is_number(cells[nip_at])
        rows.append(RosterRow(number, texts, numeric))
    return rows


def _too_many(max_rows: int) -> RosterFileError:
    return RosterFileError(
        N_("The file has more than %(limit)s rows; split it, e.g. by work unit."), limit=max_rows
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object) -> str:
    """A cell as text: numbers without a trailing .0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        value = value.date() if value.time() == time() else value
    if isinstance(value, date):
        value = value.isoformat()
    return " ".join(str(value).split())


def _xlsx(raw: bytes, max_rows: int) -> RosterTable:
    """The first sheet of a workbook, read in streaming mode."""
    import openpyxl  # only needed here: keep the server start lean

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise RosterFileError(_NOT_XLSX) from None
    if unpacked > MAX_UNPACKED:
        raise RosterFileError(
            N_("The workbook is too large once unpacked; split it, e.g. by work unit.")
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it drops
        try:
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook gets the same clear answer
            raise RosterFileError(_NOT_XLSX) from None
        try:
            return _sheet(book.worksheets[0], max_rows)
        except RosterFileError:
            raise
        except Exception:  # noqa: BLE001 - a damaged sheet part, an odd cell type
            raise RosterFileError(_NOT_XLSX) from None
        finally:
            book.close()


_NOT_XLSX = N_(
    "The file cannot be opened as an Excel workbook (.xlsx). Save it again from Excel, or as "
    "CSV UTF-8."
)


def _sheet(sheet: Any, max_rows: int) -> RosterTable:
    header_cells = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
    header = [_text(v) for v in header_cells]
    found = _columns(header)
    _require(found)
    last = max(found.values()) + 1  # read no further right than the columns we use

    def numbered() -> Iterator[tuple[int, Sequence[object]]]:
        # Blank rows count toward a hard stop too: a sheet of a million empty rows ends early.
        for number, cells in enumerate(
            sheet.iter_rows(min_row=2, max_col=last, values_only=True), start=2
        ):
            if number > max_rows + 10_000:
                raise _too_many(max_rows)
            yield number, cells

    rows = _not_empty(_collect(numbered(), found, max_rows, numeric_nip=True))
    return RosterTable({c: header[i] for c, i in found.items()}, rows, "xlsx")
