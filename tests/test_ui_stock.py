"""Pilot tests: repair, loss and write-off, and class book corners, through the real screens.

At the kiosk: the librarian (card + PIN) decides about one copy from its page and about
a pile of scanned books, and writes the term's lists (read back with openpyxl); a
teacher lends a set of books to the class's corner from their page and brings it back.
At the desk: the librarian lends a corner under the class's teacher. Both languages.
"""

from __future__ import annotations

import openpyxl
import pytest
import synckit as sk
from textual.widgets import Input
from uikit import click, make_app, on_screen, post_scan, scan_to, screen_text, wait_until

from kiosk.config import Config
from kiosk.data.core.library import set_pin
from kiosk.data.core.models import ClassCorner, ClassTeacher, Copy, Loan
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.locale import set_language
from kiosk.screens.desk import DeskApp
from kiosk.widgets.row_table import RowTable

PIN = "2468"


@pytest.fixture(autouse=True)
def _back_to_default_language():
    yield
    set_language("zh_CN")


@pytest.fixture
def school(make, library):
    cls = make.school_class("三年级2班")
    librarian = make.patron("L0001", name="张老师", kind="librarian")
    teacher = make.patron("T0001", name="王老师", kind="teacher")
    child = make.patron("S0001", name="李华", school_class=cls)
    with library.connection_context(), library.atomic():
        set_pin("L0001", PIN)
        ClassTeacher.create(teacher=teacher, school_class=cls)
    make.rule("student", loan_days=14, max_items=2)
    make.rule("teacher", loan_days=30, max_items=5)
    for n in range(12):
        make.copy(make.title(f"Book {n}"), barcode=f"B{n:04d}", shelf="I")
    return {"librarian": make.card(librarian), "teacher": make.card(teacher),
            "child": child}


def status(library, barcode: str) -> str:
    with sk.on(library):
        return Copy.get(Copy.barcode == barcode).status


async def open_librarian(pilot, code: str) -> None:
    await scan_to(pilot, code, "PinModal")
    await pilot.press(*PIN, "enter")
    await on_screen(pilot, "LibrarianScreen")
    await pilot.app.workers.wait_for_complete()


async def choose(pilot, key: str) -> None:
    """Answer the question on top with its function key."""
    await on_screen(pilot, "ChoiceModal")
    await pilot.press(key)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_a_lost_book_from_its_copy_page(circulation, school, library, language):
    circulation.checkout("S0001", "B0001")
    app = make_app(circulation, language=language)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_librarian(pilot, school["librarian"])
        post_scan(pilot, "B0001")  # a book scanned on the librarian screen opens its copy
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: "李华" in screen_text(pilot))
        await pilot.press("f6")
        await choose(pilot, "f2")  # on loan: only "lost" applies
        await choose(pilot, "f3")  # paid
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")
        await on_screen(pilot, "CopyModal")
        lost = "is marked lost" if language == "en" else "已登记遗失"
        await wait_until(pilot, lambda: lost in screen_text(pilot))
        assert ("by 李华" if language == "en" else "遗失人：李华") in screen_text(pilot)
    assert status(library, "B0001") == "lost"
    assert circulation.patron("S0001").loans == ()


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_a_pile_withdrawn_and_the_terms_lists(circulation, school, library, tmp_path,
                                                    language):
    folder = tmp_path / "out"
    circulation.checkout("S0001", "B0005")
    app = make_app(circulation, language=language, export_dir=str(folder))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_librarian(pilot, school["librarian"])
        await pilot.press("f12")
        await choose(pilot, "f2")  # repair, loss and write-off
        await choose(pilot, "f6")  # withdraw
        await choose(pilot, "f2")  # worn out
        await on_screen(pilot, "StockPileModal")
        await pilot.press(*"B0002", "enter")  # a scanner's keys, typed into the field
        post_scan(pilot, "B0003", source="camera")  # the camera's code comes here too
        post_scan(pilot, "B0005")  # on loan: refused, said why
        post_scan(pilot, "NOPE")
        table = pilot.app.screen.query_one("#pile-done", RowTable)
        await wait_until(pilot, lambda: len(table.rows) == 4)
        text = "\n".join(row[-1] for row in table.rows)
        assert ("is on loan" if language == "en" else "已借出") in text
        await pilot.press("f6")
        await wait_until(pilot, lambda: any(folder.glob("*.pdf")))
        await pilot.pause(0.2)
    assert [status(library, b) for b in ("B0002", "B0003", "B0005")] == [
        "withdrawn", "withdrawn", "on_loan"
    ]
    (xlsx,) = folder.glob("*.xlsx")
    book = openpyxl.load_workbook(xlsx)
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["B0002", "B0003"]
    assert rows[1][5] == ("worn out" if language == "en" else "破损陈旧")
    assert (folder / xlsx.name).with_suffix(".pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_a_teacher_lends_a_corner_and_brings_it_back(circulation, school, library,
                                                          language):
    app = make_app(circulation, language=language)
    async with app.run_test(size=(120, 40)) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await click(pilot, "#class-corner")
        await choose(pilot, "f2")  # lend to 三年级2班 (no corner out yet)
        await choose(pilot, "f3")  # in four weeks
        await on_screen(pilot, "CornerModal")
        for n in range(6):
            post_scan(pilot, f"B{n:04d}")
        books = pilot.app.screen.query_one("#corner-books", RowTable)
        await wait_until(pilot, lambda: len(books.rows) == 6)
        assert "6" in str(pilot.app.screen.query_one("#corner-state").render())
        await pilot.press("f2")
        await on_screen(pilot, "PatronScreen")
        # her own page: the corner's books are the class's, not hers
        assert ("may borrow 5" if language == "en" else "5") in screen_text(pilot)
        await click(pilot, "#class-corner")
        await choose(pilot, "f2")  # bring back the corner of 三年级2班
        await on_screen(pilot, "CornerModal")
        books = pilot.app.screen.query_one("#corner-books", RowTable)
        await wait_until(pilot, lambda: len(books.rows) == 6)
        for n in range(4):
            post_scan(pilot, f"B{n:04d}")
        await wait_until(pilot, lambda: len(books.rows) == 2)
        await pilot.press("f2")
        state = pilot.app.screen.query_one("#corner-state")
        await wait_until(pilot, lambda: "2" in str(state.render()))
        assert [row[0] for row in books.rows] == ["B0004", "B0005"]  # the missing ones
    with sk.on(library):
        (corner,) = ClassCorner.select()
        assert (corner.missing, corner.closed_by) == (2, "T0001")
        still_out = Loan.select().where(Loan.corner == corner.id, Loan.returned_at.is_null())
        assert still_out.count() == 2


async def test_the_desk_lends_a_corner_under_the_class_teacher(circulation, school, library,
                                                              clock):
    app = DeskApp(Circulation(Store(library, "desk", clock=clock)), Config(language="en"))
    async with app.run_test(size=(120, 40)) as pilot:
        await on_screen(pilot, "DeskLogin")
        pilot.app.screen.query_one("#card", Input).value = school["librarian"]
        pilot.app.screen.query_one("#pin", Input).focus()
        await pilot.press(*PIN, "enter")
        await on_screen(pilot, "DeskScreen")
        await pilot.press("f12")
        await choose(pilot, "f3")  # class corners
        await choose(pilot, "f2")  # lend to 三年级2班; its one teacher answers for it
        await choose(pilot, "f2")  # at the term's end (the usual date)
        await on_screen(pilot, "CornerModal")
        await pilot.press(*"B0007", "enter")
        await pilot.press(*"B0008", "enter")
        books = pilot.app.screen.query_one("#corner-books", RowTable)
        await wait_until(pilot, lambda: len(books.rows) == 2)
        assert "王老师" in screen_text(pilot)
        await pilot.press("f2")
        await on_screen(pilot, "DeskScreen")
    with sk.on(library):
        (corner,) = ClassCorner.select()
        assert corner.teacher.number == "T0001"
        assert Loan.select().where(Loan.corner == corner.id).count() == 2


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_a_helper_brings_a_corner_back(circulation, school, make, library, clock,
                                            language):
    from datetime import timedelta

    from kiosk.data.roles import Roles

    helper = make.card(make.patron("H0001", name="小帮手", kind="helper"))
    corners = Roles(circulation).corners
    corner = corners.new("T0001", "三年级2班", clock.today + timedelta(days=30))
    for n in range(3):
        corners.lend(corner, f"B{n:04d}")
    app = make_app(circulation, language=language)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, helper, "HelperScreen")
        await pilot.press("f6")
        await choose(pilot, "f2")  # the one corner out; no lending here
        await on_screen(pilot, "CornerModal")
        books = pilot.app.screen.query_one("#corner-books", RowTable)
        await wait_until(pilot, lambda: len(books.rows) == 3)
        for n in range(3):
            post_scan(pilot, f"B{n:04d}")
        await wait_until(pilot, lambda: len(books.rows) == 0)
        await pilot.press("f2")
        await wait_until(pilot, lambda: ("Every book" if language == "en" else "全部还回")
                         in screen_text(pilot))
    with sk.on(library):
        row = ClassCorner.get_by_id(corner.id)
        assert (row.closed_by, row.missing) == ("H0001", 0)
