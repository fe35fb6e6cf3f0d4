"""How Excel reads a CSV file when it is opened by double-click, written down as rules (there
is no Excel on this machine): in Indonesian regional settings the list separator is `;` and
the decimal mark `,`; in English, `,` and `.`. The tests read every export both ways.

The rules, as documented by Microsoft and observed:
- A byte-order mark means UTF-8; without one the file is read in the Windows code page.
- Cells are split at the list separator and rows at line breaks, except inside a cell that
  starts with `"`, which runs to the next `"` not doubled; `""` inside is one `"`; text after the
  closing quote up to the next separator is added as it is.
- A cell starting with `=`, `+`, `-` or `@` is a formula, unless it is a plain number
  (`-5`, `+3`); `="text"` shows the text. Leading spaces do not stop a formula. A formula that
  does not parse in the locale is kept as text: in English, a `;` outside a string literal
  (it separates arguments only in locales like Indonesian) makes it unparseable.
- A cell that is a number in the locale's format becomes a number, kept to 15 significant
  digits (an 18-digit NIP loses its last three)."""

from __future__ import annotations

import re
from dataclasses import dataclass

LOCALES = {"id-ID": (";", ","), "en-US": (",", ".")}
_TEXT_FORMULA = re.compile(r'="([^"]*)"')


@dataclass(frozen=True)
class Formula:
    """A cell Excel would evaluate as a formula (other than `="text"`)."""

    source: str


def _split(text: str, separator: str) -> list[list[str]]:
    rows: list[list[str]] = []
    row: list[str] = []
    cell = ""
    i, quoted, started = 0, False, True
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"' and text[i + 1 : i + 2] == '"':
                cell += '"'
                i += 2
                continue
            if ch == '"':
                quoted = False
            else:
                cell += ch
        elif ch == '"' and started:
            quoted = True
        elif ch == separator:
            row.append(cell)
            cell, started = "", True
            i += 1
            continue
        elif ch in "\r\n":
            if ch == "\r" and text[i + 1 : i + 2] == "\n":
                i += 1
            row.append(cell)
            rows.append(row)
            row, cell, started = [], "", True
            i += 1
            continue
        else:
            cell += ch
        started = False
        i += 1
    if cell or row:
        row.append(cell)
        rows.append(row)
    return rows


def _number(cell: str, decimal: str) -> float | None:
    thousands = "." if decimal == "," else ","
    pattern = rf"[+-]?(\d{{1,3}}(\{thousands}\d{{3}})+|\d+)(\{decimal}\d+)?"
    if not re.fullmatch(pattern, cell.strip()):
        return None
    plain = cell.strip().replace(thousands, "").replace(decimal, ".")
    return float(f"{float(plain):.15g}")  # Excel keeps 15 significant digits


def _outside_strings(formula: str) -> str:
    return re.sub(r'"(?:[^"]|"")*"', "", formula)


def _value(cell: str, separator: str, decimal: str) -> object:
    number = _number(cell, decimal)
    if number is not None:
        return number
    stripped = cell.lstrip(" ")
    if stripped[:1] in ("=", "+", "-", "@"):
        found = _TEXT_FORMULA.fullmatch(stripped)
        if found:
            return found.group(1)
        if separator == "," and ";" in _outside_strings(stripped):
            return cell  # does not parse in English: shown as text
        return Formula(cell)
    return cell


def read(data: bytes, locale: str = "id-ID") -> list[list[object]]:
    """The cells Excel shows for a CSV file opened in `locale`."""
    separator, decimal = LOCALES[locale]
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    else:
        text = data.decode("cp1252", errors="replace")
    return [[_value(cell, separator, decimal) for cell in row] for row in _split(text, separator)]


def formulas(rows: list[list[object]]) -> list[Formula]:
    return [cell for row in rows for cell in row if isinstance(cell, Formula)]
