"""Pilot tests: the librarian's tabs at the kiosk, opened with card + PIN.

Today's log and its filter, the cases to review (a real forged card scanned at the
kiosk), overdue loans by class, the day in figures, sync and devices, opening a
patron or a copy from a row, each action by hand with its confirmation, and the
export read back with the csv module and openpyxl.
"""

from __future__ import annotations

import csv
import sqlite3

import openpyxl
import pytest
from uikit import (
    click,
    make_app,
    on_screen,
    post_scan,
    scan_to,
    screen_name,
    screen_text,
    wait_until,
)

from kiosk.data.core import cards
from kiosk.data.core.db import KioskSqliteDatabase, sqlite_path
from kiosk.data.core.library import set_pin
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.locale import set_language
from kiosk.screens.librarian_panel import LibrarianPanel
from kiosk.widgets.row_table import RowTable

PIN = "2468"


@pytest.fixture(autouse=True)
def _english():
    yield
    set_language("zh_CN")


@pytest.fixture
def librarian(make, library):
    """The librarian 张老师 with PIN 2468; returns the card code."""
    patron = make.patron("L0001", name="张老师", kind="librarian")
    with library.connection_context():
        set_pin("L0001", PIN)
    return make.card(patron)


@pytest.fixture
def day(make, circulation, clock):
    """A school day: two classes borrowing, one returning, an overdue loan."""
    a, b = make.school_class("3A"), make.school_class("4B")
    ann = make.patron("2001", name="Ann Lee", school_class=a)
    bob = make.patron("2002", name="Bob Wu", school_class=b)
    cal = make.patron("2003", name="Cal Ho", school_class=b)
    books = [make.copy(make.title(f"Book {n}"), barcode=f"B{n:04d}", shelf="I") for n in range(6)]
    clock.advance(days=-30)
    circulation.checkout(cal.number, books[5].barcode)  # overdue by now
    clock.advance(days=30)
    clock.advance(hours=-1)
    circulation.checkout(ann.number, books[0].barcode)
    circulation.checkout(ann.number, books[1].barcode)
    clock.advance(hours=1)
    circulation.checkin(books[1].barcode)
    circulation.checkout(bob.number, books[2].barcode)
    return {"ann": ann, "bob": bob, "books": books, "ann_card": make.card(ann)}


async def open_librarian(pilot, code: str) -> LibrarianPanel:
    """Scan the librarian's card, type the PIN, wait for the tabs to be filled."""
    await scan_to(pilot, code, "PinModal")
    await pilot.press(*PIN, "enter")
    await on_screen(pilot, "LibrarianScreen")
    panel = pilot.app.screen.query_one(LibrarianPanel)
    await wait_until(pilot, lambda: panel.loaded and panel.overview is not None)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return panel


def table_rows(pilot, selector: str) -> list[tuple[str, ...]]:
    return [tuple(row) for row in pilot.app.screen.query_one(selector, RowTable).rows]


async def test_log_shows_the_day_and_filters_as_one_types(circulation, librarian, day, facts):
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        assert len(panel.entries) == len([f for f in facts()
                                          if f.wall_time.date() == circulation.store.today()])
        rows = table_rows(pilot, "#log-table")
        assert any("Borrowed “Book 0”" in row[-1] and "Ann Lee (2001)" in row[2] for row in rows)
        assert any(row[1] == "Sign-in" for row in rows)
        await click(pilot, "#log-filter")
        await pilot.press(*"4b")
        await wait_until(pilot, lambda: len(panel.shown) < len(panel.entries))
        assert panel.shown and all(e.class_name == "4B" for e in panel.shown)
        await pilot.press(*" b0002")
        await wait_until(pilot, lambda: len(panel.shown) == 1)
        assert table_rows(pilot, "#log-table")[0][-1].startswith("Borrowed “Book 2”")
        assert "1 of" in screen_text(pilot)
        for _ in range(8):
            await pilot.press("backspace")
        await pilot.press(*"return")
        await wait_until(pilot, lambda: [e.kind for e in panel.shown] == ["checkin"])


async def test_a_forged_card_is_a_case_to_review(circulation, librarian, day, facts):
    prefix = day["ann_card"].split(".")[0]
    forged = cards.encode(prefix, "2001", 1, "not-our-secret")
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        post_scan(pilot, forged)
        await wait_until(pilot, lambda: bool(facts("refusal")))
        panel = await open_librarian(pilot, librarian)
        await pilot.press("f9")  # next tab: cases
        await wait_until(pilot, lambda: panel.tab_ready == "tab-cases")
        assert [case.kind for case in panel.cases] == ["card.forged"]
        assert "not a card of our library" in table_rows(pilot, "#cases-table")[0][-1]
        await pilot.press("f7")
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("escape")  # no: nothing changes
        await on_screen(pilot, "LibrarianScreen")
        assert not facts("case_reviewed") and len(panel.cases) == 1
        await pilot.press("f7")
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")
        await wait_until(pilot, lambda: not panel.cases)
        assert "Nothing to review." in screen_text(pilot)
    [reviewed] = facts("case_reviewed")
    assert reviewed.data == {"case": f"refusal:{facts('refusal')[0].uuid}", "by": "L0001"}


async def test_a_row_opens_the_copy_and_a_return_by_hand_asks_first(
    circulation, librarian, day, facts
):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await open_librarian(pilot, librarian)
        index = next(i for i, e in enumerate(panel.shown) if e.copy == "B0002")
        table = app.screen.query_one("#log-table", RowTable)
        table.cursor = index
        table.focus()
        await pilot.press("enter")
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: "Lent to Bob Wu (2002)" in screen_text(pilot))
        await pilot.press("f3")
        await on_screen(pilot, "ConfirmModal")
        assert "Return “Book 2” now?" in screen_text(pilot)
        await pilot.press("f2")
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: "Returned: “Book 2”" in screen_text(pilot))
        assert "Now: on the shelf" in screen_text(pilot)
        await pilot.press("escape")
        await on_screen(pilot, "LibrarianScreen")
        await wait_until(pilot, lambda: panel.entries and panel.entries[0].kind == "checkin")
        # the day log says who took it back
        assert panel.entries[0].what == "Returned “Book 2” (by hand, librarian L0001)"
    assert not circulation.patron("2002").loans
    assert (facts("checkin")[-1].copy, facts("checkin")[-1].data["by"]) == ("B0002", "L0001")


async def test_overdue_by_class_and_the_patron_renewed_and_card_revoked(
    circulation, librarian, day, facts, clock
):
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        panel.show_tab("tab-overdue")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-overdue")
        [row] = table_rows(pilot, "#overdue-table")
        assert row[0] == "4B" and "Cal Ho" in row[1] and "Book 5" in row[2]
        assert int(row[-1]) == (clock.today - panel.overdue[0].due_on).days > 0
        panel.show_tab("tab-log")
        await pilot.pause()
        index = next(i for i, e in enumerate(panel.shown) if e.patron == "2001")
        app.screen.query_one("#log-table", RowTable).cursor = index
        await pilot.press("f4")
        await on_screen(pilot, "PatronModal")
        await wait_until(pilot, lambda: "Ann Lee (2001)" in screen_text(pilot))
        assert "Card 1 works." in screen_text(pilot)
        await pilot.press("f2")  # renew the loan under the cursor (Book 0)
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")
        await on_screen(pilot, "PatronModal")
        await wait_until(pilot, lambda: "Renewed: “Book 0”" in screen_text(pilot))
        await pilot.press("f6")
        await on_screen(pilot, "ConfirmModal")
        assert "Card 1 of Ann Lee will stop working" in screen_text(pilot)
        await pilot.press("f2")
        await on_screen(pilot, "PatronModal")
        await wait_until(pilot, lambda: "No card works." in screen_text(pilot))
        await pilot.press("escape")
        await on_screen(pilot, "LibrarianScreen")
        await click(pilot, "#back")
        await on_screen(pilot, "AttractScreen")
        post_scan(pilot, day["ann_card"])
        await wait_until(pilot, lambda: "reported lost" in screen_text(pilot))
    assert [(f.data["loan"], f.data["by"]) for f in facts("renew")] == [
        (circulation.patron("2001").loans[0].loan_id, "L0001")  # who renewed it by hand
    ]
    [revoked] = facts("card_revoked")
    assert revoked.patron == "2001" and revoked.data == {"serial": 1, "by": "L0001"}


async def test_figures_and_system_tabs(circulation, librarian, day):
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        panel.show_tab("tab-figures")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-figures")
        text = screen_text(pilot)
        assert "Loans 3 · Returns 1" in text
        assert "09:00 " in text and "10:00 " in text and "█" in text
        assert "3A " in text and "4B " in text
        await pilot.press("f9")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-system")
        text = screen_text(pilot)
        assert "This library does not sync with a desk." in text
        assert "Camera: none" in text and "Sync: not in use" in text


async def test_export_writes_csv_and_xlsx_of_the_filtered_log(
    circulation, librarian, day, tmp_path
):
    folder = tmp_path / "exports"
    app = make_app(circulation, export_dir=str(folder))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        await click(pilot, "#log-filter")
        await pilot.press(*"ann")
        await wait_until(pilot, lambda: len(panel.shown) < len(panel.entries))
        expected = len(panel.shown)
        await pilot.press("f6")
        await wait_until(pilot, lambda: "records written to" in screen_text(pilot))
    day_name = circulation.store.today().isoformat()
    with (folder / f"day-log-{day_name}.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Time", "What", "Reader"]
    assert len(rows) == expected + 1 and all(row[2] == "2001" for row in rows[1:])
    book = openpyxl.load_workbook(folder / f"day-log-{day_name}.xlsx", read_only=True)
    sheet = book.worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Time" and len(values) == expected + 1
    assert any(row[2] == "2001" and row[7].startswith("Borrowed “Book 0”") for row in values)


async def test_a_scanned_book_opens_its_copy(circulation, librarian, day):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_librarian(pilot, librarian)
        post_scan(pilot, "B0000")
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: "Lent to Ann Lee (2001)" in screen_text(pilot))
        post_scan(pilot, "B0000")  # a dialog on top takes no scan
        await pilot.press("f4")
        await on_screen(pilot, "PatronModal")
        assert screen_name(pilot) == "PatronModal"


def assert_fits(app) -> None:
    """Every button, the scan field and the tables lie fully on the screen."""
    screen = app.screen.region
    widgets = [*app.screen.query("Button"), *app.screen.query("#scan"),
               *app.screen.query(RowTable)]
    assert widgets
    for widget in widgets:
        if widget.display:
            assert widget.region.width > 0 and widget.region.height > 0, widget
            assert screen.contains_region(widget.region), (widget, widget.region, screen)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
async def test_the_librarian_screens_fit_80x24(circulation, librarian, day, language):
    app = make_app(circulation, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_librarian(pilot, librarian)
        assert_fits(app)
        post_scan(pilot, "2001")  # a code that is not a card opens its copy (none here)
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: app.screen.query_one("#detail-message").has_class("-error"))
        assert_fits(app)
        await pilot.press("escape")
        await on_screen(pilot, "LibrarianScreen")
        post_scan(pilot, day["ann_card"])
        await on_screen(pilot, "PatronModal")
        await wait_until(pilot, lambda: "2001" in screen_text(pilot))
        assert_fits(app)
        await pilot.press("f6")
        await on_screen(pilot, "ConfirmModal")
        assert_fits(app)
        await pilot.press("escape")
        await on_screen(pilot, "PatronModal")


async def test_visits_tab_shows_a_class_visit_and_a_helper_shift(
    circulation, librarian, day, make
):
    from kiosk.data.roles import Roles

    teacher = make.patron("T001", name="Mr Gao", kind="teacher")
    helper = make.patron("H001", name="Dan Xu", kind="helper", school_class="3A")
    roles = Roles(circulation)
    visit = roles.visits.start_visit(teacher.number, "3A")
    roles.visits.roll_call(visit.id, "2001")
    shift = roles.shifts.start_shift(helper.number)
    roles.shifts.helper_return(shift.id, "B0000")
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        await wait_until(pilot, lambda: app.screen.query_one("#tab-strip").region)
        await pilot.click("#tab-strip", offset=(len(" Today  ") + 2, 0))  # "To review"
        await wait_until(pilot, lambda: panel.tab_ready == "tab-cases")
        for _ in range(2):
            await pilot.press("f9")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-visits")
        rows = table_rows(pilot, "#visits-table")
        assert ("Visit", "3A", "Mr Gao") == rows[0][:3] and rows[0][4] == "1"
        assert ("Helper", "Dan Xu") == rows[1][:2] and rows[1][4] == "1"
        assert "now" in rows[0][3]  # the visit has not ended
        assert "Today: 1 class visit, 1 helper shift." in screen_text(pilot)


async def test_an_export_that_cannot_be_written_says_why(circulation, librarian, day, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    app = make_app(circulation, export_dir=str(blocker / "exports"))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_librarian(pilot, librarian)
        await pilot.press("f6")
        await wait_until(pilot, lambda: "Could not write to" in screen_text(pilot))
        assert app.is_running and screen_name(pilot) == "LibrarianScreen"


async def test_the_librarian_cannot_revoke_their_own_card_here(circulation, librarian, facts):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_librarian(pilot, librarian)
        post_scan(pilot, librarian)  # the librarian's own card, scanned on these screens
        await on_screen(pilot, "PatronModal")
        await wait_until(pilot, lambda: "Card 1 works." in screen_text(pilot))
        assert app.screen.query_one("#revoke").disabled
        await pilot.press("f6")
        await pilot.pause()
        assert screen_name(pilot) == "PatronModal"
    assert not facts("card_revoked")


def toasts(pilot) -> list[str]:
    """The text of the notifications on show (``run_test(notifications=True)``)."""
    return [str(toast.render()) for toast in pilot.app.screen.query("Toast")]


async def test_a_locked_database_while_marking_a_case_is_said_and_the_app_goes_on(
    library_url, circulation, librarian, day, facts, clock
):
    """A sync holding the write lock when the librarian marks a case: the words for a
    busy database, the screen stays, and the same key works once the lock is gone."""
    prefix = day["ann_card"].split(".")[0]
    impatient = KioskSqliteDatabase(sqlite_path(library_url), timeout=0.2)
    app = make_app(Circulation(Store(impatient, circulation.store.kiosk_id, clock=clock)))
    holder = sqlite3.connect(str(sqlite_path(library_url)), isolation_level=None)
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            post_scan(pilot, cards.encode(prefix, "2001", 1, "not-our-secret"))
            await wait_until(pilot, lambda: bool(facts("refusal")))
            panel = await open_librarian(pilot, librarian)
            await pilot.press("f9")
            await wait_until(pilot, lambda: panel.tab_ready == "tab-cases")
            holder.execute("BEGIN IMMEDIATE")  # the sync writing
            await pilot.press("f7")
            await on_screen(pilot, "ConfirmModal")
            await pilot.press("f2")
            await wait_until(pilot, lambda: any("is busy" in text for text in toasts(pilot)))
            assert app.is_running and screen_name(pilot) == "LibrarianScreen"
            assert len(panel.cases) == 1 and not facts("case_reviewed")
            holder.execute("ROLLBACK")
            await pilot.press("f7")
            await on_screen(pilot, "ConfirmModal")
            await pilot.press("f2")
            await wait_until(pilot, lambda: not panel.cases)
    finally:
        holder.close()
        impatient.close()
    assert len(facts("case_reviewed")) == 1


async def test_notifications_show_paths_as_written_not_as_markup(
    circulation, librarian, day, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    folder = blocker / "[/]ex[b]ports"
    app = make_app(circulation, export_dir=str(folder))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_librarian(pilot, librarian)
        await pilot.press("f6")
        await wait_until(pilot, lambda: any(str(folder) in text for text in toasts(pilot)))
        assert app.is_running and screen_name(pilot) == "LibrarianScreen"


async def test_the_garbage_collector_is_given_back_after_the_log_is_drawn(library, circulation, make):
    """The screen holds Python's collector only until its first paint (no pause in it);
    after that, and after the screen is gone, collection runs as always."""
    import gc

    from kiosk.screens.librarian import LibrarianScreen
    from kiosk.screens.librarian_panel import LibrarianPanel

    librarian = make.patron(kind="librarian")
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = LibrarianScreen(circulation.patron(librarian.number))
        app.push_screen(screen)
        await wait_until(pilot, lambda: bool(screen.query(LibrarianPanel))
                         and screen.query_one(LibrarianPanel).complete)
        assert gc.isenabled()
        app.pop_screen()
        await pilot.pause()
        assert gc.isenabled()


def shown_buttons(pilot) -> list[str]:
    """The ids of the dialog's buttons a librarian sees."""
    return [b.id for b in pilot.app.screen.query("Button") if b.display and not b.disabled]


async def test_a_book_on_the_shelf_offers_only_what_applies(circulation, librarian, day):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_librarian(pilot, librarian)
        post_scan(pilot, "B0001")  # returned this morning: on the shelf
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: "Now: on the shelf" in screen_text(pilot))
        # a book on the shelf can be sent to repair or written off (F6), nothing else
        assert shown_buttons(pilot) == ["decide", "close"]
        await pilot.press("f2", "f3", "f4")  # the loan's keys do nothing
        assert screen_name(pilot) == "CopyModal"
        await pilot.press("escape")
        await on_screen(pilot, "LibrarianScreen")
        post_scan(pilot, "B0000")  # lent to Ann
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: "Lent to Ann Lee (2001)" in screen_text(pilot))
        assert shown_buttons(pilot) == ["renew", "return", "borrower", "decide", "close"]
        await pilot.press("f4")
        await on_screen(pilot, "PatronModal")
        await wait_until(pilot, lambda: "Book 0" in screen_text(pilot)
                         or bool(table_rows(pilot, "#detail-loans")))
        assert shown_buttons(pilot) == ["renew", "return", "revoke", "close"]
