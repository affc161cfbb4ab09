"""Writing tables for people to open in Excel or WPS: CSV and XLSX, safely.

Names and titles come from rosters, catalogues and scans, so any cell may hold text
that a spreadsheet would run as a formula (``=cmd|' /C calc'!A0``, ``+SUM(...)``,
``@IMPORT``). Every text cell written here is neutralised as OWASP advises: a
leading ``= + - @``, tab or carriage return gets a ``'`` in front, and control
characters are made visible, so the file shows exactly what was typed and runs
nothing.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kiosk.data.core.text import printable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Characters a spreadsheet reads as the start of a formula (or a way to hide one)."""

MAX_CELL = 32767
"""Excel's limit on the characters of one cell."""

Cell = str | int | float | date | datetime | None


def safe_cell(value: Any) -> Cell:
    """``value`` ready for a spreadsheet cell: numbers and dates stay as they are,
    text is made printable and can never start a formula."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int | float | date | datetime):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return printable(text, limit=MAX_CELL)


@dataclass
class Sheet:
    """One table: a title (the sheet's name), its column headings and its rows."""

    title: str
    headings: Sequence[str]
    rows: Iterable[Sequence[Any]] = field(default_factory=list)
    widths: Sequence[int] = ()
    """Column widths in characters (optional)."""


def _replace(path: Path, write: Any, suffix: str) -> None:
    """Write through a temporary file beside ``path`` so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_csv(path: Path, sheet: Sheet) -> None:
    """Write ``sheet`` as UTF-8 CSV with a BOM (so Excel on a Chinese Windows reads it)."""

    def write(target: Path) -> None:
        with target.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([safe_cell(h) for h in sheet.headings])
            for row in sheet.rows:
                writer.writerow(["" if (c := safe_cell(v)) is None else c for v in row])

    _replace(path, write, ".csv")


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> None:
    """Write ``sheets`` as one XLSX workbook (openpyxl's write-only mode: rows stream
    to disk, so a year of facts needs little memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    def write(target: Path) -> None:
        book = Workbook(write_only=True)
        used: set[str] = set()
        for sheet in sheets:
            title = _sheet_title(sheet.title, used)
            out = book.create_sheet(title)
            for index, width in enumerate(sheet.widths):
                out.column_dimensions[_column(index)].width = width
            headings = []
            for heading in sheet.headings:
                cell = WriteOnlyCell(out, value=safe_cell(heading))
                cell.font = Font(bold=True)
                headings.append(cell)
            out.append(headings)
            for row in sheet.rows:
                out.append([safe_cell(v) for v in row])
        book.save(target)

    _replace(path, write, ".xlsx")


def _column(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


def _sheet_title(title: str, used: set[str]) -> str:
    """A sheet name Excel accepts: no ``[]:*?/\\``, at most 31 characters, unique."""
    cleaned = "".join("_" if c in "[]:*?/\\" else c for c in printable(title, 31)) or "Sheet"
    name, n = cleaned[:31], 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = cleaned[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def write_table(path: Path, sheet: Sheet) -> None:
    """Write one table as XLSX (``.xlsx``) or CSV (any other name)."""
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, [sheet])
    else:
        write_csv(path, sheet)
