"""The import's limits: zip bombs in XLSX workbooks (a claimed dimension of
A1:XFD1048576, millions of shared texts, a shared text or a cell of gigabytes, a zip
that lies about its sizes) are refused within seconds in bounded memory, naming the
limit; CSV files have the same limits on columns and fields; honest workbooks still
read as before.

Each bomb is made here (:mod:`xlsxkit`: a few megabytes on disk) and read in a child
process whose address space is capped (``RLIMIT_AS``), with a generous timeout: a
reader that trusts the file runs out of memory there (or out of time), where the
importer must answer with the limit's refusal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xlsxkit
from xlsxkit import SHEET_START, STRINGS_START, heading_rows

from kiosk.data.desk import import_limits
from kiosk.data.desk.catalogue import parse_catalogue
from kiosk.data.desk.importing import ImportRefused
from kiosk.data.desk.roster import parse_roster
from kiosk.locale import set_language, t

CHILD = Path(__file__).with_name("import_child.py")
MEMORY_MB = 768
"""The child's address space: some 200 MB are the interpreter and its libraries."""
TIMEOUT = 120
"""Seconds the child may take: generous (a refusal takes well under one), so a busy
machine never fails the test; a reader that trusts the bomb takes minutes."""

END = b"</sheetData></worksheet>"
BIG = 100_000_000
"""A text of 100 MB: within the unpacked limit, far beyond a cell's."""


def sheet(*rows: bytes) -> xlsxkit.Part:
    """A sheet with a title heading, then ``rows``."""
    return [(heading_rows(), 1), *[(row, 1) for row in rows], (END, 1)]


def _dimension(path: Path) -> Path:
    # The issue's file: a sheet claiming A1:XFD1048576, a value in column XFD of each row.
    return xlsxkit.workbook(path, [
        (SHEET_START + b'<dimension ref="A1:XFD1048576"/><sheetData>', 1),
        (b'<row><c r="A1" t="inlineStr"><is><t>title</t></is></c></row>', 1),
        (b'<row><c t="inlineStr"><is><t>Book</t></is></c><c r="XFD2"><v>1</v></c></row>',
         100_000),
        (END, 1)])


def _strings(count: int, piece: bytes) -> xlsxkit.Part:
    return [(STRINGS_START, 1), (piece, count), (b"</sst>", 1)]


BOMBS = {
    "dimension": (_dimension, "import.too_many_columns", {"column": 16384, "limit": 256}),
    # 30 million shared texts (1.2 MB; they unpack to 510 MB: the zip says so)
    "30M strings": (lambda path: xlsxkit.workbook(
        path, sheet(), _strings(30_000_000, b"<si><t>x</t></si>")),
        "import.xlsx_unpacked", {"limit": 256}),
    # 3 million empty ones, 39 MB: within the size, beyond the count
    "3M strings": (lambda path: xlsxkit.workbook(
        path, sheet(), _strings(3_000_000, b"<si><t/></si>")),
        "import.too_many_strings", {"limit": 2_000_000}),
    "2 GB string": (lambda path: xlsxkit.workbook(
        path, sheet(b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>'),
        [(STRINGS_START + b"<si><t>", 1), (b"a", 2_000_000_000), (b"</t></si></sst>", 1)]),
        "import.xlsx_unpacked", {"limit": 256}),
    "100 MB string": (lambda path: xlsxkit.workbook(
        path, sheet(b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>'),
        [(STRINGS_START + b"<si><r><t>", 1), (b"a", BIG), (b"</t></r></si></sst>", 1)]),
        "import.cell_too_long", {"limit": 32767}),
    "3 GB cell": (lambda path: xlsxkit.workbook(path, [
        (heading_rows() + b'<row r="2"><c r="A2" t="inlineStr"><is><t>', 1),
        (b"b", 3_000_000_000), (b"</t></is></c></row>" + END, 1)]),
        "import.xlsx_unpacked", {"limit": 256}),
    "100 MB cell": (lambda path: xlsxkit.workbook(path, [
        (heading_rows() + b'<row r="2"><c r="A2"><v>', 1), (b"7", BIG),
        (b"</v></c></row>" + END, 1)]),
        "import.cell_too_long", {"limit": 32767}),
    # 20 million empty cells in one row: openpyxl holds a row whole
    "wide row": (lambda path: xlsxkit.workbook(path, [
        (heading_rows() + b'<row r="2">', 1), (b"<c/>", 20_000_000), (b"</row>" + END, 1)]),
        "import.too_many_columns", {"column": 16385, "limit": 16384}),
    # one long shared text in every cell: 160 million characters to clean
    "repeated text": (lambda path: xlsxkit.workbook(
        path, [(heading_rows(), 1), (b'<row><c t="s"><v>0</v></c></row>', 5_000), (END, 1)],
        _strings(1, b"<si><t>" + b"c" * 32_000 + b"</t></si>")),
        "import.too_much_text", {"limit": 100_000_000}),
}


def read_in_child(kind: str, path: Path) -> dict[str, object]:
    """Read ``path`` in a child with its memory capped; its outcome (see import_child)."""
    done = subprocess.run(
        [sys.executable, str(CHILD), kind, str(path), str(MEMORY_MB)], capture_output=True,
        text=True, timeout=TIMEOUT, cwd=Path(__file__).parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BOMBS))
def test_a_zip_bomb_is_refused_quickly_in_bounded_memory(name, tmp_path):
    make, key, params = BOMBS[name]
    path = make(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 4_000_000
    # (rosters and catalogues read workbooks alike: one bomb is enough to show it)
    for kind in ("catalogue", "patrons") if name == "dimension" else ("catalogue",):
        outcome = read_in_child(kind, path)
        assert (outcome["key"], outcome["params"]) == (key, params), outcome
        assert outcome["peak_mb"] < 400, outcome  # (the interpreter alone: about 60)


@pytest.mark.slow
def test_a_zip_that_lies_about_its_sizes_is_refused(tmp_path):
    # It says its 2 GB shared text is a kilobyte: the bytes unpacked are counted, and
    # the zip reader stops at the size it was told (the text's check fails).
    make, _, _ = BOMBS["2 GB string"]
    path = xlsxkit.workbook(
        tmp_path / "liar.xlsx", sheet(b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>'),
        [(STRINGS_START + b"<si><t>", 1), (b"a", 2_000_000_000), (b"</t></si></sst>", 1)],
        declared={"xl/sharedStrings.xml": 1024})
    outcome = read_in_child("catalogue", path)
    assert outcome["key"] == "import.bad_xlsx", outcome
    assert outcome["peak_mb"] < 400, outcome


def test_every_limit_is_named_in_both_languages():
    try:
        for language in ("en", "zh_CN"):
            set_language(language)
            for _, key, params in BOMBS.values():
                text = t(key, **params)
                assert str(params["limit"]) in text and "{" not in text
    finally:
        set_language("en")


# -- limits met by honest files -------------------------------------------------------


def test_a_dimension_that_lies_is_not_trusted(tmp_path):
    # The sheet claims the whole grid and has a styled empty cell in column XFD: the
    # table is read as wide as its values, quickly.
    path = xlsxkit.workbook(tmp_path / "claims.xlsx", [
        (SHEET_START + b'<dimension ref="A1:XFD1048576"/><sheetData>', 1),
        (b'<row r="1"><c r="A1" t="inlineStr"><is><t>title</t></is></c>'
         b'<c r="B1" t="inlineStr"><is><t>author</t></is></c><c r="XFD1" s="1"/></row>', 1),
        (b'<row r="2"><c r="A2" t="inlineStr"><is><t>Book</t></is></c>'
         b'<c r="B2" t="inlineStr"><is><t>Ann</t></is></c></row>', 1),
        (END, 1)])
    parsed = parse_catalogue(path)
    assert [(r.title, r.author) for r in parsed.records] == [("Book", "Ann")]
    assert import_limits.check_workbook(path.read_bytes()) == {
        "xl/worksheets/sheet1.xml": (2, 2)}
    # (the importer finds each sheet's end by the part openpyxl reads it from)
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    assert [sheet._worksheet_path for sheet in book.worksheets] == ["xl/worksheets/sheet1.xml"]
    book.close()


def test_a_workbook_of_shared_texts_and_dates_reads_as_openpyxl_reads_it(tmp_path):
    from datetime import date

    from openpyxl import Workbook

    book = Workbook()
    sheet_ = book.active
    sheet_.title = "Books"
    sheet_.append(["题名", "期号日期", "条码"])
    for number in range(1, 301):
        sheet_.append([f"期刊 {number % 7}", date(2025, 1 + number % 12, 1), f"P{number:04d}"])
    sheet_["F400"] = None  # (a cell touched and left empty)
    book.save(tmp_path / "issues.xlsx")
    parsed = parse_catalogue(tmp_path / "issues.xlsx")
    assert len(parsed.records) == 300 and not parsed.problems
    assert parsed.records[0].issue_date == date(2025, 2, 1)
    assert parsed.records[-1].copies[0].barcode == "P0300"


def test_a_grid_too_big_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(import_limits, "MAX_CELLS", 1000)
    path = xlsxkit.workbook(tmp_path / "grid.xlsx", [
        (heading_rows() + b'<row r="2"><c r="IV2"><v>1</v></c></row>', 1),
        (b'<row r="5"><c r="A5"><v>1</v></c></row>', 1), (END, 1)])
    with pytest.raises(ImportRefused) as error:
        parse_catalogue(path)
    assert (error.value.key, error.value.params) == ("import.too_many_cells", {"limit": 1000})


def test_every_part_is_checked_whatever_its_name_or_encoding(tmp_path, monkeypatch):
    # Shared texts in UTF-16 (big-endian, no byte-order mark: expat recognises it) in a
    # part whose name does not end in .xml are counted like any others.
    monkeypatch.setattr(import_limits, "MAX_SHARED_STRINGS", 10)
    strings = ('<?xml version="1.0" encoding="UTF-16"?>'
               f'<sst xmlns="{xlsxkit.MAIN}">' + "<si><t>x</t></si>" * 11 + "</sst>")
    parts = {"[Content_Types].xml": [(xlsxkit.CONTENT_TYPES.replace(
                b"/xl/sharedStrings.xml", b"/xl/strings.bin"), 1)],
             "_rels/.rels": [(xlsxkit.ROOT_RELS, 1)],
             "xl/workbook.xml": [(xlsxkit.WORKBOOK, 1)],
             "xl/_rels/workbook.xml.rels": [(xlsxkit.WORKBOOK_RELS.replace(
                b"sharedStrings.xml", b"strings.bin"), 1)],
             "xl/worksheets/sheet1.xml": sheet(),
             "xl/strings.bin": [(strings.encode("utf-16-be"), 1)]}
    path = xlsxkit.write_zip(tmp_path / "utf16.xlsx", parts)
    with pytest.raises(ImportRefused) as error:
        parse_catalogue(path)
    assert (error.value.key, error.value.params) == ("import.too_many_strings", {"limit": 10})


# -- CSV: the same limits -------------------------------------------------------------


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("length", [32_768, 200_000])
def test_a_csv_field_longer_than_a_cell_is_refused(tmp_path, length):
    # (Python's csv refuses fields over 131,072 characters in its own words)
    path = _csv(tmp_path / "long.csv", "number,name,class\n1," + "n" * length + ",3A\n")
    with pytest.raises(ImportRefused) as error:
        parse_roster(path)
    assert (error.value.key, error.value.params) == ("import.cell_too_long", {"limit": 32767})


def test_a_csv_value_beyond_the_last_column_is_refused(tmp_path):
    wide = _csv(tmp_path / "wide.csv", "title," + "," * 298 + "far\nBook\n")
    with pytest.raises(ImportRefused) as error:
        parse_catalogue(wide)
    assert (error.value.key, error.value.params) == (
        "import.too_many_columns", {"column": 300, "limit": 256})
    # Blank fields beyond it (a spreadsheet's export of a touched cell) are dropped.
    blank = _csv(tmp_path / "blank.csv", "title,author" + "," * 5000 + "\nBook,Ann\n")
    assert [(r.title, r.author) for r in parse_catalogue(blank).records] == [("Book", "Ann")]


def test_a_csv_with_too_many_cells_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(import_limits, "MAX_CELLS", 100)
    path = _csv(tmp_path / "many.csv", "title,author\n" + "Book,Ann\n" * 60)
    with pytest.raises(ImportRefused) as error:
        parse_catalogue(path)
    assert (error.value.key, error.value.params) == ("import.too_many_cells", {"limit": 100})
