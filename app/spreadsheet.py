"""Files that HR opens in Excel: CSV in the one format Indonesian-locale Excel splits into
columns, and XLSX with typed cells. Nothing a person typed can become a formula.

CSV (docs/reports.md, "Files for Excel"): UTF-8 with a byte-order mark (so Excel reads UTF-8),
`;` between cells (the list separator of Windows in Indonesian, where `,` is the decimal mark),
CRLF between rows, cells quoted only when they hold `;`, a quote or a line break. No `sep=` line:
Excel drops the byte-order mark when it sees one and would read the names as Windows-1252.

- An identifier made of digits (a NIP, 18 digits) is written `="199001012015031001"`: Excel
  shows it as that text, where the bare number would become 1,99E+17 with its last digits lost.
  The formula holds nothing but the digits, checked here.
- Any other text that Excel could read as the start of a formula (`=`, `+`, `-`, `@`, a tab or a
  carriage return first) gets an apostrophe in front, at the start of the cell and after every
  `,`, `;` or line break inside it: a file opened with the other separator (Excel in English
  splits at `,`), or a line break read as a new row, never yields a cell starting with one."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, TextIO

SEPARATOR = ";"
LINE_END = "\r\n"
BOM = "\ufeff"
_DIGITS = re.compile(r"[0-9]{1,40}")
# a formula may start at the cell's start, or wherever another reading starts a new cell
# (a quote may stand between: `x","=cmd` read at `,` gives a cell `=cmd` after the quotes)
_FORMULA_START = re.compile(r"(^|[,;\r\n])([ \"]*)([=+\-@\t\r])")


def text_cell(value: str) -> str:
    """Text as a CSV cell: an identifier of digits kept as text, formulas neutralised."""
    if _DIGITS.fullmatch(value):
        return f'="{value}"'
    return _FORMULA_START.sub(lambda m: f"{m.group(1)}{m.group(2)}'{m.group(3)}", value)


def csv_cell(value: Any) -> str:
    """Any value as a CSV cell: numbers as digits, dates as YYYY-MM-DD (Excel in Indonesian
    reads both as such), text through `text_cell`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.10g}".replace(".", ",")  # the Indonesian decimal mark
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return text_cell(str(value))


def _writer(out: TextIO) -> Any:
    return csv.writer(out, delimiter=SEPARATOR, lineterminator=LINE_END, quoting=csv.QUOTE_MINIMAL)


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[int]:
    """Write the whole file to `out` (opened with newline=""), yielding the number of rows
    written after each row (for progress)."""
    out.write(BOM)
    writer = _writer(out)
    writer.writerow([csv_cell(h) for h in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(v) for v in row])
        yield count


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Any]], every: int = 1000
) -> Iterator[bytes]:
    """The same file as bytes in chunks, for a streamed response."""
    buffer = io.StringIO()
    for count in write_csv(buffer, header, rows):
        if count % every == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


# ---- XLSX ------------------------------------------------------------------------------------


class Sheet:
    """One worksheet written row by row (XlsxWriter in constant-memory mode): a bold, frozen
    header with a filter, column widths, text as text (never a formula), numbers as numbers,
    dates as dates shown the Indonesian way (dd/mm/yyyy)."""

    def __init__(
        self, book: Any, name: str, header: Sequence[str], widths: Sequence[int] = ()
    ) -> None:
        self.sheet = book.add_worksheet(_sheet_name(name))
        self.columns = len(header)
        self.bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
        self.day = book.add_format({"num_format": "dd/mm/yyyy"})
        self.moment = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        for col, name_ in enumerate(header):
            width = widths[col] if col < len(widths) else max(10, min(40, len(name_) + 2))
            self.sheet.set_column(col, col, width)
        self.sheet.freeze_panes(1, 0)
        for col, name_ in enumerate(header):
            self.sheet.write_string(0, col, name_, self.bold)
        self.rows = 0

    def add(self, row: Sequence[Any]) -> None:
        self.rows += 1
        for col, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                self.sheet.write_boolean(self.rows, col, value)
            elif isinstance(value, int | float):
                self.sheet.write_number(self.rows, col, value)
            elif isinstance(value, datetime):
                self.sheet.write_datetime(self.rows, col, value.replace(tzinfo=None), self.moment)
            elif isinstance(value, date):
                self.sheet.write_datetime(
                    self.rows, col, datetime(value.year, value.month, value.day), self.day
                )
            else:  # as text, never a formula
                self.sheet.write_string(self.rows, col, str(value))

    def close(self) -> None:
        """Put the filter on the header, over every row written."""
        self.sheet.autofilter(0, 0, max(self.rows, 1), self.columns - 1)


def _sheet_name(name: str) -> str:
    """Excel's rules for a sheet name: at most 31 characters, none of []:*?/\\."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", name).strip() or "Data"
    return cleaned[:31]
