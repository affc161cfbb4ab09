"""Reading catalogue tables (CSV, XLSX): columns known by their headings."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.data.core.models import SHELF_LENGTH
from kiosk.data.desk import importing
from kiosk.data.desk.catalogue.fields import add_copy, normalise_isbn, year_in
from kiosk.data.desk.catalogue.records import (
    CSV_COLUMNS,
    KINDS,
    SPLIT,
    CatalogueRecord,
    CopyRow,
    ParsedCatalogue,
)
from kiosk.data.desk.importing import ImportRefused, Problem, clean, looks_like_formula

log = logging.getLogger(__name__)


def read_table(path: Path, data: bytes, encoding: str | None) -> ParsedCatalogue:
    tables, used = importing.read_tables(path, data, encoding)
    parsed = ParsedCatalogue([], [], "XLSX" if importing.is_xlsx(data) else "CSV", used)
    read_any = False
    for table in tables:
        found = importing.find_headings(table.rows, CSV_COLUMNS, {"title"})
        if found is None:
            if len(tables) > 1 and table.rows:
                parsed.problems.append(Problem("row", table.rows[0][0], "import.sheet_skipped",
                                               level="warning", sheet=table.sheet))
            continue
        read_any = True
        start, columns, _ = found
        for number, cells in table.rows[start + 1 :]:
            before = len(parsed.problems)
            entry = _table_row(number, cells, columns, parsed.problems)
            if len(tables) > 1:
                parsed.problems[before:] = [
                    replace(p, sheet=table.sheet) for p in parsed.problems[before:]]
            if entry is not None:
                parsed.records.append(entry)
    if not read_any:
        raise ImportRefused("import.catalogue_headings")
    return parsed


def _table_row(
    number: int, cells: list[str], columns: dict[str, int], problems: list[Problem]
) -> CatalogueRecord | None:
    def cell(name: str) -> str:
        column = columns.get(name)
        return cells[column].strip() if column is not None and column < len(cells) else ""

    where: dict[str, Any] = {"place": "row", "number": number}
    for name in columns:
        if looks_like_formula(cell(name)):
            problems.append(Problem(**where, key="import.formula",
                                    params={"value": clean(cell(name), 40)}))
            return None
    title = clean(cell("title"))
    if not title:
        problems.append(Problem(**where, key="import.no_title"))
        return None
    kind = None
    if cell("kind"):
        kind = KINDS.get(unicodedata.normalize("NFKC", cell("kind")).strip().casefold())
        if kind is None:
            problems.append(Problem(**where, key="import.bad_kind",
                                    params={"value": clean(cell("kind"), 20)}, level="warning"))
    isbn, bad = normalise_isbn([cell("isbn")]) if cell("isbn") else (None, None)
    if bad:
        problems.append(Problem(**where, key="import.bad_isbn", params={"isbn": bad},
                                level="warning"))
    copies: dict[str, CopyRow] = {}
    shelf = clean(cell("shelf"), SHELF_LENGTH)
    for raw in SPLIT.split(cell("barcode")):
        if raw:
            add_copy(copies, raw, shelf, problems, where)
    issue = _issue_date(cell("issue_date")) if cell("issue_date") else None
    if cell("issue_date") and issue is None:
        problems.append(Problem(**where, key="import.bad_issue_date", level="warning",
                                params={"value": clean(cell("issue_date"), 20)}))
    return CatalogueRecord(
        "row", number, title, clean(cell("author")), clean(cell("publisher")),
        year_in(cell("year")), isbn, clean(cell("classification")),
        kind or ("periodical" if issue else None), "", list(copies.values()), None, issue,
        clean(cell("series")),
    )


_ISSUE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2}))?")


def _issue_date(text: str) -> date | None:
    """An issue's date: ``2025-03-01``, ``2025/3``, ``2025年3月``, ``2025.03.15``
    (without a day, the first of the month)."""
    match = _ISSUE.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3] or 1))
    except ValueError:
        return None
