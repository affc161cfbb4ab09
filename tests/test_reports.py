"""Term reports, the still-out list and the stock check, on a small library whose every
figure can be worked out by hand (on SQLite and on PostgreSQL), and the files they make."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import peewee as pw
import pytest
from openpyxl import load_workbook

from kiosk.cli import main
from kiosk.data.core import masterdata
from kiosk.data.core.library import open_library
from kiosk.data.core.store import Store
from kiosk.data.desk import reports
from kiosk.data.desk.report_sheets import term_sheets
from kiosk.data.desk.reports import GroupFigures, Star, term_report
from kiosk.data.lending.circulation import Circulation
from kiosk.data.roles import Roles
from kiosk.locale import set_language
from tests.conftest import Factory, FakeClock
from tests.printkit import text

TERM = (date(2025, 3, 1), date(2025, 6, 30))
TARGET = 3

# Who borrows which title in the term (each loan a copy of its own).
PLAN = {
    "s1": "AABC",
    "s2": "ABC",
    "s4": "B",  # kept: overdue at the end
    "s5": "ABC",  # the C is kept, then marked lost
    "s6": "AC",
    "t1": "BB",
}
CLASSES = {"s1": "1A", "s2": "1A", "s3": "1A", "s4": "1B", "s5": "1B", "s6": "2A", "h2": "2A"}


@dataclass
class Built:
    """The library of these tests and what the test needs to know of it."""

    db: pw.Database
    numbers: dict[str, str]
    kept: dict[str, Any]
    lost_barcode: str
    url: str


def build(db: pw.Database, clock: FakeClock, url: str) -> Built:
    """Classes 1A, 1B (grade 1) and 2A (grade 2); students s1..s5, helpers s6 and h2,
    teacher t1; the loans of :data:`PLAN`, visits, and two helpers' shifts."""
    make = Factory(db, clock)
    circulation = Circulation(Store(db, "kiosk-test", clock=clock))
    roles = Roles(circulation)
    make.school_class("1A", grade=1)
    make.school_class("1B", grade=1)
    make.school_class("2A", grade=2)
    for kind in ("student", "helper", "teacher"):
        make.rule(kind, loan_days=14, max_items=10)
    numbers = {}
    for who, klass in CLASSES.items():
        kind = "helper" if who in ("s6", "h2") else "student"
        numbers[who] = make.patron(name=f"N-{who}", kind=kind, school_class=klass).number
    numbers["t1"] = make.patron(name="N-t1", kind="teacher").number
    titles = {
        "A": make.title("Alpha", classification="I247"),
        "B": make.title("Beta", classification="K825"),
        "C": make.title("Gamma", classification="I712"),
    }
    clock.set(datetime(2025, 2, 20, 9, tzinfo=UTC))  # before the term: not counted
    early = make.copy(titles["A"]).barcode
    circulation.checkout(numbers["s3"], early)
    circulation.checkin(early)
    clock.set(datetime(2025, 3, 12, 9, tzinfo=UTC))
    kept: dict[str, Any] = {}
    to_return: list[str] = []
    lost = ""
    for who, plan in PLAN.items():
        for index, letter in enumerate(plan):
            barcode = make.copy(titles[letter]).barcode
            clock.advance(minutes=5)
            loan = circulation.checkout(numbers[who], barcode).loan
            if who == "s4" or (who == "s5" and index == len(plan) - 1):
                kept[who] = loan
                lost = barcode if who == "s5" else lost
            else:
                to_return.append(barcode)
    # s6 returns three of the books in a helper's shift, h2 one, the desk the rest
    shift = roles.shifts.start_shift(numbers["s6"])
    for barcode in to_return[:3]:
        roles.shifts.helper_return(shift.id, barcode)
    roles.shifts.end_shift(shift.id)
    shift = roles.shifts.start_shift(numbers["h2"])
    roles.shifts.helper_return(shift.id, to_return[3])
    roles.shifts.end_shift(shift.id)
    for barcode in to_return[4:]:
        circulation.checkin(barcode)
    # visits: 1A twice (40 min with a roll call of two; 30 min, 25 counted), 2A once (45 min)
    for klass, minutes, roll, count in (("1A", 40, ["s1", "s2"], 0), ("1A", 30, [], 25),
                                        ("2A", 45, [], 0)):
        visit = roles.visits.start_visit(numbers["t1"], klass)
        for who in roll:
            roles.visits.roll_call(visit.id, numbers[who])
        clock.advance(minutes=minutes)
        roles.visits.end_visit(visit.id, headcount=count)
        clock.advance(minutes=5)
    with db.connection_context(), db.atomic():
        masterdata.set_copy_status(lost, "lost")
    clock.set(datetime(2025, 7, 5, 9, tzinfo=UTC))  # after the term: not counted
    late = make.copy(titles["C"]).barcode
    circulation.checkout(numbers["s1"], late)
    circulation.checkin(late)
    return Built(db, numbers, kept, lost, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def built(request, tmp_path: Path, clock: FakeClock) -> Iterator[Built]:
    """The hand-computable library, on SQLite and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'reports.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    db = open_library(url, create=True)
    try:
        yield build(db, clock, url)
    finally:
        db.close()


@pytest.fixture
def on_sqlite(tmp_path: Path, clock: FakeClock) -> Iterator[Built]:
    """The same library on SQLite only (for the files: they do not depend on the database)."""
    url = f"sqlite:///{tmp_path / 'reports.sqlite'}"
    db = open_library(url, create=True)
    try:
        yield build(db, clock, url)
    finally:
        db.close()


def test_term_figures_match_the_hand_count(built: Built):
    as_of = date(2025, 4, 30)
    with built.db.connection_context():
        report = term_report(*TERM, target=TARGET, stars=2, as_of=as_of)
    n = built.numbers
    # 15 loans in the term: 13 by the 7 students (s3 and h2 borrowed none), 2 by t1
    assert report.total_loans == 15 and report.student_loans == 13
    assert len(report.students) == 7
    loans = {s.number: s.loans for s in report.students}
    assert loans == {n["s1"]: 4, n["s2"]: 3, n["s3"]: 0, n["s4"]: 1, n["s5"]: 3, n["s6"]: 2,
                     n["h2"]: 0}
    assert {s.number for s in report.students if s.reached} == {n["s1"], n["s2"], n["s5"]}
    assert report.per_student == pytest.approx(13 / 7) and report.share_at_target == 3 / 7
    assert report.classes == [
        GroupFigures("1A", 1, 3, 7, 2), GroupFigures("1B", 1, 2, 4, 1),
        GroupFigures("2A", 2, 2, 2, 0),
    ]
    assert report.grades == [GroupFigures("1", 1, 5, 11, 3), GroupFigures("2", 2, 2, 2, 0)]
    assert report.classes[0].per_student == pytest.approx(7 / 3)
    assert report.stars == [
        Star("1A", 1, n["s1"], "N-s1", 4), Star("1A", 2, n["s2"], "N-s2", 3),
        Star("1B", 1, n["s5"], "N-s5", 3), Star("1B", 2, n["s4"], "N-s4", 1),
        Star("2A", 1, n["s6"], "N-s6", 2),
    ]
    # B: s1, s2, s4, s5 and t1 twice = 6; A: s1 twice, s2, s5, s6 = 5; C: s1, s2, s5, s6 = 4
    assert [(x.rank, x.title, x.loans) for x in report.titles] == [
        (1, "Beta", 6), (2, "Alpha", 5), (3, "Gamma", 4)
    ]
    assert [(v.school_class, v.visits, v.minutes, v.headcount) for v in report.visits] == [
        ("1A", 2, 70, 27), ("2A", 1, 45, 0)
    ]
    assert [(h.rank, h.number, h.shifts, h.books) for h in report.helpers] == [
        (1, n["s6"], 1, 3), (2, n["h2"], 1, 1)
    ]
    s4_due = built.kept["s4"].due_on
    # (s5's book was marked lost: the loss ended the loan, it is on the lost list)
    assert [(o.number, o.days_overdue) for o in report.overdue] == [
        (n["s4"], (as_of - s4_due).days)
    ]
    assert [(x.barcode, x.last_borrower, x.school_class) for x in report.lost] == [
        (built.lost_barcode, "N-s5", "1B")
    ]
    with built.db.connection_context():
        out = reports.still_out(s4_due)
    assert [(o.school_class, o.number, o.days_overdue) for o in out] == [("1B", n["s4"], 0)]


def test_the_period_bounds_are_whole_days(built: Built):
    with built.db.connection_context():
        first_day = term_report(date(2025, 3, 12), date(2025, 3, 12), target=TARGET)
        day_before = term_report(date(2025, 3, 11), date(2025, 3, 11), target=TARGET)
        with pytest.raises(ValueError):
            term_report(date(2025, 3, 12), date(2025, 3, 11))
    assert first_day.total_loans == 15 and day_before.total_loans == 0
    assert day_before.stars == [] and day_before.titles == [] and day_before.at_target == 0


def test_term_command_writes_the_workbook_and_a_one_page_summary(
    on_sqlite: Built, tmp_path: Path, capsys
):
    on_sqlite.db.close()
    xlsx = tmp_path / "term.xlsx"
    set_language("en")
    try:
        assert main(["report", "term", "--db", on_sqlite.url, "--from", "2025-03-01",
                     "--to", "2025-06-30", "--target", "3", "-o", str(xlsx)]) == 0
    finally:
        set_language("zh_CN")
    assert "term.pdf" in capsys.readouterr().out
    book = load_workbook(xlsx, read_only=True)
    assert book.sheetnames == ["摘要", "学生与目标", "各班", "各年级", "阅读之星", "热门图书",
                               "班级到馆", "小馆员", "班级图书角", "逾期", "丢失", "预约登记"]
    classes = list(book["各班"].iter_rows(values_only=True))
    assert classes[1][:4] == ("1A", 1, 3, 7) and len(classes) == 4
    assert len(list(book["学生与目标"].iter_rows())) == 8
    pdf = xlsx.with_suffix(".pdf")
    words = text(pdf)
    assert "学期报告" in words and "各班人均借书" in words and "Beta" in words
    import pypdfium2 as pdfium

    assert len(pdfium.PdfDocument(str(pdf))) == 1
    assert main(["report", "term", "--db", on_sqlite.url, "--from", "2025-13-01",
                 "--to", "2025-06-30", "-o", str(xlsx)]) == 2
    assert main(["report", "term", "--db", on_sqlite.url, "--from", "2025-06-01",
                 "--to", "2025-03-30", "-o", str(xlsx)]) == 2
    assert main(["report", "term", "--db", on_sqlite.url, "--from", "2025-03-01",
                 "--to", "2025-06-30", "--target", "-1", "-o", str(xlsx)]) == 2
    assert "2025-13-01" in capsys.readouterr().err


def test_out_command_lists_loans_by_class(on_sqlite: Built, tmp_path: Path, capsys):
    on_sqlite.db.close()
    assert main(["report", "out", "--db", on_sqlite.url]) == 0
    printed = capsys.readouterr().out
    assert "== 1B ==" in printed and "N-s4" in printed and "N-s1" not in printed
    csv_path = tmp_path / "out.csv"
    assert main(["report", "out", "--db", on_sqlite.url, "-o", str(csv_path)]) == 0
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith("1B,")  # (s5's lost book ended its loan)
    assert main(["report", "out", "--db", on_sqlite.url, "-o", str(tmp_path / "out.txt")]) == 2
    assert "out.txt" in capsys.readouterr().err
    # --db takes a file path as well as a URL (as the imports do); a missing file is refused
    assert main(["report", "out", "--db", on_sqlite.url.removeprefix("sqlite:///")]) == 0
    assert "== 1B ==" in capsys.readouterr().out
    assert main(["report", "out", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "none.sqlite" in capsys.readouterr().err


def test_hostile_names_reach_the_workbook_as_text(library, make, circulation, clock, tmp_path):
    make.rule("student", loan_days=14, max_items=10)
    student = make.patron(name="=cmd|' /C calc'!A0", school_class="@1A")
    copy = make.copy(make.title("+SUM(A1)"))
    circulation.checkout(student.number, copy.barcode)
    with library.connection_context():
        report = term_report(clock.today, clock.today, target=1)
    path = tmp_path / "hostile.xlsx"
    from kiosk.data.desk.spreadsheet import write_xlsx

    write_xlsx(path, term_sheets(report))
    book = load_workbook(path)
    cells = [c for ws in book for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert "'=cmd|' /C calc'!A0" in [c.value for c in cells]
    from kiosk.data.desk.report_sheets import out_lines

    make.patron("1002", name="\x1b[2J\x1b]0;owned\x07", school_class="@1A")
    circulation.checkout("1002", make.copy().barcode)
    with library.connection_context():
        lines = out_lines(reports.still_out(clock.today))
    assert len(lines) == 3 and not any("\x1b" in line or "\x07" in line for line in lines)


def test_stock_check_from_the_latest_shelf_checks(library, make, circulation, clock, tmp_path,
                                                 library_url, capsys):
    shelf_i = make.title("In I", classification="I287")
    shelf_k = make.title("In K", classification="K825")
    i1, i2, i3, i4 = (make.copy(shelf_i) for _ in range(4))
    k1 = make.copy(shelf_k)
    helper = make.patron(kind="helper", school_class="3A")
    circulation.checkout(helper.number, i4.barcode)  # on loan: not missing
    roles = Roles(circulation)
    first = roles.shelf_checks.start_shelf_check("I", helper.number)
    roles.shelf_checks.shelf_scan(first, i1.barcode)
    roles.shelf_checks.end_shelf_check(first)
    clock.advance(days=1)
    latest = roles.shelf_checks.start_shelf_check("I", helper.number)
    for copy in (i1, i2, k1):
        roles.shelf_checks.shelf_scan(latest, copy.barcode)
    roles.shelf_checks.end_shelf_check(latest)
    with library.connection_context():
        stock = reports.stock_check()
    assert stock.checks == ["I"]
    assert sorted(x.barcode for x in stock.found) == sorted([i1.barcode, i2.barcode])
    assert [x.barcode for x in stock.missing] == [i3.barcode]
    assert [(x.barcode, x.belongs) for x in stock.misplaced] == [(k1.barcode, "K")]
    library.close()
    path = tmp_path / "stock.xlsx"
    assert main(["report", "stock", "--db", library_url, "-o", str(path)]) == 0
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["缺少", "放错", "在架", "在架"]  # K1 once: misplaced
    assert "1" in capsys.readouterr().out


def test_no_shelf_check_yet_is_said_plainly(library, library_url, capsys):
    library.close()
    assert main(["report", "stock", "--db", library_url]) == 0
    assert "还没有" in capsys.readouterr().out


def test_every_printing_message_is_translated():
    """Keys the printing code names (errors raised with a key, headings built from parts)."""
    import re

    import kiosk
    from kiosk.locale import catalogue

    root = Path(kiosk.__file__).parent
    desk = root / "data" / "desk"
    sources = [root / "commands" / "printing.py", *desk.glob("*print*.py"),
               desk / "reports.py", desk / "report_sheets.py", *(desk / "pdf").glob("*.py")]
    keys = {k for path in sources
            for k in re.findall(r"[\"'](print\.[a-z_.]+[a-z])[\"']",
                                path.read_text(encoding="utf-8"))}
    keys |= {f"print.head.{k}" for path in sources
             for call in re.findall(r"_h\(([^)]*)\)", path.read_text(encoding="utf-8"))
             for k in re.findall(r'"([a-z_]+)"', call)}
    keys |= {f"print.stock.{state}" for state in ("found", "missing", "misplaced")}
    assert len(keys) > 60
    for language in ("en", "zh_CN"):
        assert keys - set(catalogue(language)) == set(), language
