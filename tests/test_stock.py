"""Repair, loss and write-off; class book corners: the services, their facts, the replay.

Real SQLite library files and the real services; every test that changes state ends
with the state a replay of the journal (``journal.rebuild``) gives.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import synckit as sk

from kiosk.data.core.errors import NotFound, Refused
from kiosk.data.core.kinds import describe
from kiosk.data.core.models import ClassCorner, Copy, CopyEvent, Loan
from kiosk.data.desk.stock_log import repair_log, write_offs
from kiosk.data.librarian.stock import Stock
from kiosk.data.roles import Roles
from kiosk.locale import set_language


@pytest.fixture
def school(make):
    cls = make.school_class("三年级2班")
    teacher = make.patron("T01", name="王老师", kind="teacher")
    child = make.patron("S01", name="李华", school_class=cls)
    make.rule("student", loan_days=14, max_items=2)
    make.rule("teacher", loan_days=30, max_items=3)
    books = [make.copy(make.title(f"Book {i}"), barcode=f"B{i:03d}") for i in range(45)]
    return {"class": cls, "teacher": teacher, "child": child, "books": books}


def status(library, barcode: str) -> str:
    with sk.on(library):
        return Copy.get(Copy.barcode == barcode).status


def replayed_equal(library, tmp_path) -> None:
    assert sk.rebuilt(library, tmp_path) == sk.state(library)


# -- repair, loss, write-off ---------------------------------------------------------


def test_a_book_goes_to_repair_and_back(circulation, school, library, tmp_path):
    stock = Stock(circulation.store)
    done = stock.act("B001", "repair", by="L1")
    assert (done.before, done.status) == ("available", "repair")
    with pytest.raises(Refused) as refused:
        stock.act("B001", "found", by="L1")
    assert refused.value.key == "stock.not_from.repair"
    assert stock.act("B001", "repaired", by="L1").status == "available"
    assert status(library, "B001") == "available"
    with pytest.raises(Refused) as again:
        stock.act("B001", "repaired", by="L1")
    assert again.value.key == "stock.not_from.available"
    replayed_equal(library, tmp_path)


def test_a_damaged_return_opens_the_repair_log(circulation, school, library, clock, tmp_path):
    circulation.checkout("S01", "B002")
    clock.advance(days=3)
    circulation.checkin("B002", damaged=True)
    clock.advance(days=2)
    Stock(circulation.store).act("B002", "repaired", by="L1")
    Stock(circulation.store).act("B003", "repair", by="L1")  # still in the box
    with sk.on(library):
        lines = repair_log(clock.today - timedelta(days=30), clock.today)
    assert [(x.barcode, x.how, x.outcome, x.left_on is not None) for x in lines] == [
        ("B002", "damaged", "repaired", True), ("B003", "repair", "", False),
    ]
    replayed_equal(library, tmp_path)


def test_a_book_lost_by_its_borrower_ends_the_loan(circulation, school, library, clock, tmp_path):
    circulation.checkout("S01", "B004")
    clock.advance(days=30)
    assert circulation.patron("S01").overdue_count == 1
    done = Stock(circulation.store).act("B004", "lost", by="L1", settlement="paid")
    assert (done.status, done.lost_by) == ("lost", "李华")
    child = circulation.patron("S01")
    assert child.loans == () and child.may_borrow == 2  # off the quota and the overdue list
    with sk.on(library):
        (event,) = CopyEvent.select().where(CopyEvent.action == "lost")
        assert (event.patron.number, event.settlement, event.by) == ("S01", "paid", "L1")
        listed = write_offs(clock.today, clock.today)
    assert [(w.barcode, w.patron_name, w.school_class, w.settlement) for w in listed] == [
        ("B004", "李华", "三年级2班", "paid")
    ]
    assert circulation.checkin("B004").destination == "desk"  # it turns up: to the desk
    assert Stock(circulation.store).act("B004", "found", by="L1").status == "available"
    replayed_equal(library, tmp_path)


def test_a_withdrawal_needs_a_reason_and_a_book_not_on_loan(circulation, school, library, tmp_path):
    stock = Stock(circulation.store)
    with pytest.raises(Refused) as no_reason:
        stock.act("B005", "withdrawn", by="L1")
    assert no_reason.value.key == "stock.reason_needed"
    circulation.checkout("S01", "B005")
    with pytest.raises(Refused) as lent:
        stock.act("B005", "withdrawn", by="L1", reason="worn_out")
    assert lent.value.key == "stock.not_from.on_loan"
    circulation.checkin("B005")
    assert stock.act("B005", "withdrawn", by="L1", reason="outdated").status == "withdrawn"
    with pytest.raises(NotFound):
        stock.act("NOPE", "repair", by="L1")
    with pytest.raises(NotFound):
        stock.act("\x1b[2J", "repair", by="L1")
    replayed_equal(library, tmp_path)


def test_the_day_log_says_each_decision_in_both_languages(circulation, school, library):
    stock = Stock(circulation.store)
    circulation.checkout("S01", "B006")
    stock.act("B006", "lost", by="L1", settlement="forgiven")
    stock.act("B007", "withdrawn", by="L1", reason="worn_out")
    with sk.on(library):
        assert CopyEvent.select().count() == 2
    lost = {"action": "lost", "status": "lost", "settlement": "forgiven", "by": "L1"}
    gone = {"action": "withdrawn", "status": "withdrawn", "reason": "worn_out", "by": "L1"}
    set_language("en")
    assert describe("copy_status", lost, "Book 6", "李华") == (
        "“Book 6” lost by 李华 — forgiven (by hand, librarian L1)"
    )
    assert describe("copy_status", gone, "Book 7", "") == (
        "“Book 7” withdrawn (worn out) (by hand, librarian L1)"
    )
    set_language("zh_CN")
    assert describe("copy_status", gone, "Book 7", "") == (
        "《Book 7》剔旧 （破损陈旧） （馆员 L1 手工办理）"
    )
    assert "免赔" in describe("copy_status", lost, "Book 6", "李华")


# -- class book corners --------------------------------------------------------------


def test_a_corner_of_forty_books_counts_against_no_quota(circulation, school, library, clock,
                                                         tmp_path):
    corners = Roles(circulation).corners
    due = clock.today + timedelta(days=90)
    corner = corners.new("T01", "三年级2班", due)
    for book in school["books"][:40]:
        assert corners.lend(corner, book.barcode).status == "lent"
    assert corners.lend(corner, "B000").status == "already"
    teacher = circulation.patron("T01")
    assert teacher.loans == () and teacher.may_borrow == 3  # the class's books, not hers
    circulation.checkout("T01", "B040")  # she borrows for herself as ever
    (view,) = corners.open_corners("T01")
    assert (view.class_name, view.books, view.due_on) == ("三年级2班", 40, due)
    with sk.on(library):
        assert Loan.select().where(Loan.corner == corner.id).count() == 40
    replayed_equal(library, tmp_path)


def test_a_corner_comes_back_in_one_go_with_the_missing_listed(circulation, school, library,
                                                                clock, tmp_path):
    corners = Roles(circulation).corners
    corner = corners.new("T01", "三年级2班", clock.today + timedelta(days=60))
    for book in school["books"][:5]:
        corners.lend(corner, book.barcode)
    clock.advance(days=50)
    for barcode in ("B000", "B001", "B002"):
        assert corners.give_back(corner.id, barcode).status == "returned"
    circulation.checkout("S01", "B010")
    assert corners.give_back(corner.id, "B010").status == "not_in_corner"
    missing = corners.close(corner.id, by="T01")
    assert [book.barcode for book in missing] == ["B003", "B004"]
    assert corners.open_corners() == []
    with sk.on(library):
        row = ClassCorner.get_by_id(corner.id)
        assert (row.missing, row.closed_by) == (2, "T01")
    assert [view.books for view in [corners.corner(corner.id)]] == [2]  # still on loan
    replayed_equal(library, tmp_path)


def test_a_corner_is_refused_what_it_may_not_take(circulation, school, make, library, clock):
    corners = Roles(circulation).corners
    with pytest.raises(Refused) as not_teacher:
        corners.new("S01", "三年级2班", clock.today + timedelta(days=9))
    assert not_teacher.value.key == "corner.not_teacher"
    with pytest.raises(Refused) as past:
        corners.new("T01", "三年级2班", clock.today)
    assert past.value.key == "corner.past_date"
    with pytest.raises(NotFound):
        corners.new("T01", "no such class", clock.today + timedelta(days=9))
    corner = corners.new("T01", "三年级2班", clock.today + timedelta(days=9))
    reference = make.copy(make.title("Dictionary", kind="reference"), barcode="R001")
    circulation.checkout("S01", "B009")
    for code, key in (("R001", "copy.reference_only"), ("B009", "copy.on_loan_other"),
                      ("X999", "copy.unknown")):
        with pytest.raises((Refused, NotFound)) as refused:
            corners.lend(corner, code)
        assert refused.value.key == key
    assert reference.barcode == "R001"
    assert corners.open_corners() == []  # nothing lent: no corner


def test_the_term_end_setting_is_the_usual_due_date(circulation, school, make, clock):
    corners = Roles(circulation).corners
    make.setting("term_end", (clock.today + timedelta(days=100)).isoformat())
    assert corners.due_default() == clock.today + timedelta(days=100)
    make.setting("term_end", "not a date")
    assert corners.due_default() > clock.today


def test_corner_words_in_both_languages():
    data = {"class": "三年级2班", "due_on": "2025-06-30", "corner": "c"}
    set_language("en")
    assert describe("corner_lent", data, "草房子", "") == (
        "“草房子” lent to the book corner of 三年级2班, due 2025-06-30"
    )
    back = {"class": "三年级2班", "corner": "c", "missing": ["B1"], "returned": 39}
    assert describe("corner_returned", back, "", "") == (
        "The book corner of 三年级2班 came back: 39 books (1 missing)"
    )
    set_language("zh_CN")
    assert describe("corner_lent", data, "草房子", "") == (
        "《草房子》借给三年级2班图书角，2025-06-30 到期"
    )


def test_old_copy_status_facts_still_read(circulation, school, library, tmp_path):
    from kiosk.data.core import masterdata

    with sk.on(library), library.atomic():
        masterdata.set_copy_status("B011", "lost")
        masterdata.set_copy_status("B011", "available")
    with sk.on(library):
        assert [e.action for e in CopyEvent.select().order_by(CopyEvent.at)] == ["lost", "found"]
    assert status(library, "B011") == "available"
    replayed_equal(library, tmp_path)


def test_corners_in_the_overdue_list_the_out_list_and_the_term_report(
    circulation, school, library, clock, library_url, capsys
):
    from kiosk.cli import main
    from kiosk.data.desk.reports import still_out, term_report
    from kiosk.data.librarian.daybook import DayBook

    corners = Roles(circulation).corners
    start = clock.today
    corner = corners.new("T01", "三年级2班", clock.today + timedelta(days=10))
    for book in school["books"][:3]:
        corners.lend(corner, book.barcode)
    corners.give_back(corner.id, "B000")
    corners.close(corner.id, by="T01")
    Stock(circulation.store).act("B020", "repair", by="L1")
    Stock(circulation.store).act("B020", "repaired", by="L1")
    Stock(circulation.store).act("B021", "withdrawn", by="L1", reason="outdated")
    clock.advance(days=20)
    set_language("en")
    (late1, late2) = DayBook(circulation).overdue()
    assert {late1.copy, late2.copy} == {"B001", "B002"}
    assert late1.class_name == "三年级2班" and late1.patron_name == "王老师 · Corner"
    with sk.on(library):
        out = still_out(clock.today)
        report = term_report(start, clock.today, target=1, as_of=clock.today)
    assert [(o.school_class, o.corner) for o in out] == [("三年级2班", True)] * 2
    assert report.total_loans == 0  # a corner's books are no one's loans
    (figures,) = report.corners
    assert (figures.school_class, figures.corners, figures.books, figures.missing,
            figures.out) == ("三年级2班", 1, 3, 2, 2)
    assert report.stock is not None
    assert (report.stock.repairs, report.stock.repaired, report.stock.withdrawn) == (1, 1, 1)
    library.close()
    assert main(["report", "out", "--db", library_url]) == 0
    printed = capsys.readouterr().out
    assert "== 三年级2班 ==" in printed and printed.count("(图书角)") == 2  # (the CLI: zh_CN)


def test_kiosk_report_repairs_writes_both_lists(circulation, school, library, clock,
                                                library_url, tmp_path, capsys):
    import openpyxl

    from kiosk.cli import main

    stock = Stock(circulation.store)
    stock.act("B030", "repair", by="L1")
    circulation.checkout("S01", "B031")
    stock.act("B031", "lost", by="L1", settlement="replaced")
    stock.act("B032", "withdrawn", by="L1", reason="worn_out")
    library.close()
    xlsx = tmp_path / "lists.xlsx"
    day = clock.today.isoformat()
    assert main(["report", "repairs", "--db", library_url, "--from", day, "--to", day,
                 "-o", str(xlsx)]) == 0
    assert "lists.pdf" in capsys.readouterr().out
    book = openpyxl.load_workbook(xlsx)
    repairs, gone = ([row for row in sheet.iter_rows(values_only=True)][1:]
                     for sheet in book.worksheets)
    assert [(row[1], row[6]) for row in repairs] == [("B030", "仍在修补箱")]
    assert [(row[1], row[4], row[5], row[6], row[7]) for row in gone] == [
        ("B031", "遗失", "遗失（赔书）", "李华", "三年级2班"),
        ("B032", "剔旧", "破损陈旧", None, None),
    ]
    assert (tmp_path / "lists.pdf").read_bytes().startswith(b"%PDF")
    assert main(["report", "repairs", "--db", library_url, "--from", day, "--to",
                 "2000-01-01", "-o", str(xlsx)]) == 2


def test_the_day_log_files_corner_facts_under_the_class(circulation, school, clock):
    from kiosk.data.librarian.daybook import DayBook

    corners = Roles(circulation).corners
    corner = corners.new("T01", "三年级2班", clock.today + timedelta(days=9))
    corners.lend(corner, "B040")
    corners.give_back(corner.id, "B040")
    corners.close(corner.id, by="T01")
    set_language("en")
    log = DayBook(circulation).day_log()
    corner_rows = [e for e in log if e.kind.startswith("corner_")]
    assert [(e.kind_label, e.class_name) for e in corner_rows] == [("Corner", "三年级2班")] * 2
    assert corner_rows[0].what == "The book corner of 三年级2班 came back: 1 book"
