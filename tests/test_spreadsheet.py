"""CSV and XLSX exports show what was typed and run nothing."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from kiosk.data.desk.spreadsheet import Sheet, safe_cell, write_csv, write_xlsx

HOSTILE = ["=cmd|' /C calc'!A0", "+SUM(A1)", "-2+3", "@IMPORT", "\t=1", "\x1b[31mred"]


def test_formulas_and_escapes_are_neutralised():
    assert safe_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert safe_cell("\x1b[31mred") == "\\x1b[31mred"
    assert safe_cell("王小明") == "王小明"
    assert safe_cell(-2) == -2 and safe_cell(date(2025, 3, 1)) == date(2025, 3, 1)
    assert safe_cell(None) is None and safe_cell(True) == 1


def test_csv_opens_in_excel_and_holds_no_formula(tmp_path: Path):
    path = tmp_path / "log.csv"
    write_csv(path, Sheet("log", ["名字", "title"], [[name, 3] for name in HOSTILE]))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["名字", "title"]
    assert all(not row[0].startswith(("=", "+", "-", "@", "\t")) for row in rows[1:])
    assert [r[1] for r in rows[1:]] == ["3"] * len(HOSTILE)


def test_xlsx_cells_are_text_never_formulas(tmp_path: Path):
    path = tmp_path / "log.xlsx"
    sheets = [Sheet("a/b:c", ["who"], [[h] for h in HOSTILE]), Sheet("A/B:C", ["n"], [[1]])]
    write_xlsx(path, sheets)
    book = load_workbook(path)
    assert book.sheetnames == ["a_b_c", "A_B_C (2)"]
    cells = [row[0] for row in book["a_b_c"].iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(c, str) and c.startswith(("'", "\\")) for c in cells)
    assert all(cell.data_type != "f" for row in book["a_b_c"].iter_rows() for cell in row)


def test_a_failed_write_leaves_the_old_file(tmp_path: Path):
    path = tmp_path / "log.csv"
    path.write_text("old", encoding="utf-8")

    def broken():
        yield ["ok"]
        raise RuntimeError("the database went away")

    try:
        write_csv(path, Sheet("log", ["x"], broken()))
    except RuntimeError:
        pass
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]
