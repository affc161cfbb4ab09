"""Pilot tests: helper mode (the return station of a helper's shift) and shelf checks.

Every edge case of the issue: where each book goes in big words (its shelf, the hold
shelf with the reserver's name, the repair box by one key), a book not on loan said
so without an error, the running count, the shift ended by the helper's card and by
the idle timeout, and a shelf check showing what is missing and misplaced.
"""

from __future__ import annotations

import sqlite3

import pytest
from uikit import (
    FakeMonotonic,
    click,
    make_app,
    on_screen,
    post_scan,
    scan_and_wait,
    scan_to,
    screen_name,
    screen_text,
    verdict,
    wait_until,
)

from kiosk.data.core.db import KioskSqliteDatabase, database, sqlite_path
from kiosk.data.core.models import Copy, HelperShift, ShelfCheck
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.screens.helper import HelperScreen
from kiosk.widgets.scan_bar import ScanBar


@pytest.fixture
def station(make, circulation):
    """A helper, a reader with a hold, four books lent and two on the shelf."""
    make.rule("student", loan_days=14, max_items=10)
    helper = make.patron("H1", name="小帮手", kind="helper", school_class="4A")
    reader = make.patron("S1", name="王小明", school_class="3A")
    waiting = make.patron("S2", name="李华", school_class="3A")
    lent = [
        make.copy(make.title(f"书{i}", classification="I247"), barcode=f"1000000{i}")
        for i in range(4)
    ]
    for copy in lent:
        circulation.checkout(reader.number, copy.barcode)
    make.hold(waiting, lent[1])
    make.copy(make.title("科学书", classification="N49"), barcode="20000001")
    make.copy(make.title("放错的书", classification="K825"), barcode="20000002")
    return {"helper": make.card(helper), "reader": make.card(reader), "lent": lent}


def shift_row(library) -> HelperShift:
    with library.connection_context():
        return HelperShift.select().get()


async def test_each_book_says_where_it_goes_in_big_words(circulation, station, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        assert "Helper: 小帮手" in screen_text(pilot)
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)

        assert await scan_and_wait(pilot, "10000000") == "→ SHELF I\n书0"
        # Reserved: the hold shelf, with the name of the student who reserved it.
        assert await scan_and_wait(pilot, "10000001") == "→ HOLD SHELF, for 李华\n书1"
        # Damaged: one key, then the book goes to the repair box.
        await pilot.press("f3")
        await wait_until(pilot, lambda: "Damaged book: scan it now" in screen_text(pilot))
        assert await scan_and_wait(pilot, "10000002") == "→ REPAIR BOX\n书2"
        assert "Damaged book: scan it now" not in screen_text(pilot)  # only that one book
        # Not on loan: said so, and where it goes; not an error.
        message = await scan_and_wait(pilot, "20000001")
        assert message == "→ SHELF N\n科学书\n(It was not on loan. That is fine.)"
        assert pilot.app.screen.query_one("#verdict").kind == "info"
        # An unknown code is refused (and not counted).
        assert "We do not know this book (XYZ)" in await scan_and_wait(pilot, "XYZ")
        # the book that was not on loan is said apart, not counted as returned
        assert "Books returned: 3  (not on loan: 1)" in screen_text(pilot)
        # The helper's card again ends helper mode with thanks.
        message = await scan_and_wait(pilot, station["helper"])
        assert message == "Thank you, 小帮手! You put away 3 books."
        await pilot.press("f2")
        await on_screen(pilot, "AttractScreen")
    with library.connection_context():
        assert Copy.get(Copy.barcode == "10000002").status == "repair"
        assert Copy.get(Copy.barcode == "10000001").status == "hold_shelf"
    shift = shift_row(library)
    assert shift.books == 3 and shift.ended_at is not None and shift.helper.number == "H1"


async def test_a_pile_scanned_fast_is_all_returned_and_counted(circulation, station, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        for copy in station["lent"]:
            post_scan(pilot, copy.barcode)  # no waiting between scans
        await wait_until(pilot, lambda: "Books returned: 4" in screen_text(pilot))
        assert verdict(pilot) == "→ SHELF I\n书3"
    assert shift_row(library).books == 4


async def test_the_idle_timeout_ends_helper_mode_and_the_shift(circulation, station, library, clock):
    monotonic = FakeMonotonic()
    app = make_app(circulation, monotonic=monotonic, helper_idle_timeout=90.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        await scan_and_wait(pilot, "10000000")
        last_book = clock()
        clock.advance(minutes=5)
        monotonic.advance(60)  # longer than a student's timeout: still helping
        app.check_timeout()
        await pilot.pause()
        assert pilot.app.screen.__class__.__name__ == "HelperScreen"
        monotonic.advance(31)
        app.check_timeout()
        await on_screen(pilot, "AttractScreen")
        await wait_until(pilot, lambda: shift_row(library).ended_at is not None)
    shift = shift_row(library)
    assert shift.books == 1
    assert shift.ended_at == last_book.replace(tzinfo=None)  # the helper left after the last book


async def test_another_card_ends_helper_mode_and_opens_that_page(circulation, station, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        await scan_to(pilot, station["reader"], "PatronScreen")
        assert "Hello, 王小明!" in screen_text(pilot)
        await wait_until(pilot, lambda: shift_row(library).ended_at is not None)


async def test_a_shelf_check_shows_what_is_missing_and_misplaced(circulation, station, library, make):
    make.copy(make.title("另一本科学书", classification="N5"), barcode="20000003")
    make.copy(make.title("第三本科学书", classification="N6"), barcode="20000004")
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        await pilot.press("f4")
        await on_screen(pilot, "ShelfCheckScreen")
        await wait_until(pilot, lambda: pilot.app.screen.areas != {})
        # The first book names the shelf (N) and is counted on it.
        assert await scan_and_wait(pilot, "20000001") == "✓ “科学书”: right shelf."
        assert "Shelf check: shelf N" in screen_text(pilot)
        message = await scan_and_wait(pilot, "20000002")
        assert message == "“放错的书” belongs on shelf K. Please take it out."
        assert "was scanned already" in await scan_and_wait(pilot, "20000001")
        assert "Books scanned: 2" in screen_text(pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: "Missing: 2. On the wrong shelf: 1." in screen_text(pilot))
        text = screen_text(pilot)
        assert "Books found: 1" in text  # the stray book from shelf K is not one of N's
        assert "20000003  另一本科学书" in text and "20000004  第三本科学书" in text
        assert "20000002  放错的书  → shelf K" in text
        await pilot.press("f2")  # back to the return station; the shift goes on
        await on_screen(pilot, "HelperScreen")
        assert await scan_and_wait(pilot, "10000000") == "→ SHELF I\n书0"
    with library.connection_context():
        check = ShelfCheck.select().get()
        assert (check.shelf, check.helper.number) == ("N", "H1")
        assert check.ended_at is not None


async def test_a_shelf_area_can_be_touched(circulation, station, library):
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        assert "小馆员：小帮手" in screen_text(pilot)
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        assert await scan_and_wait(pilot, "10000000") == "→ 放回 I 架\n书0"
        await pilot.press("f4")
        await on_screen(pilot, "ShelfCheckScreen")
        await wait_until(pilot, lambda: "K" in pilot.app.screen.areas.values())
        area = next(key for key, name in pilot.app.screen.areas.items() if name == "K")
        await pilot.click(f"#{area}")
        await wait_until(pilot, lambda: "清点书架：K 架" in screen_text(pilot))
        assert await scan_and_wait(pilot, "20000002") == "✓ 《放错的书》在这个书架上。"


async def test_a_damaged_or_hostile_code_is_refused_in_words(circulation, station, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        message = await scan_and_wait(pilot, "\x1b[31m10000000\x07")
        assert "This card could not be read" in message and "\x1b" not in message
        assert "Books returned: 0" in screen_text(pilot)
        assert await scan_and_wait(pilot, "10000000") == "→ SHELF I\n书0"
    assert shift_row(library).books == 1


async def test_a_long_report_pages_with_the_keyboard(circulation, station, make):
    for n in range(20):
        make.copy(make.title(f"科学{n}", classification="N7"), barcode=f"2100{n:04d}")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        await pilot.press("f4")
        await on_screen(pilot, "ShelfCheckScreen")
        assert await scan_and_wait(pilot, "20000001") == "✓ “科学书”: right shelf."
        await pilot.press("f2")
        await wait_until(pilot, lambda: "Missing: 20. On the wrong shelf: 0." in screen_text(pilot))
        assert "… and 8 more" in screen_text(pilot)
        box = pilot.app.screen.query_one("#report-box")
        assert box.scroll_y == 0
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: box.scroll_y > 0)


# -- fixes: the scanner after a touch, the count, "My books", errors, the shift's start ----


def focused_on_scan_bar(pilot) -> bool:
    return isinstance(pilot.app.screen.focused, ScanBar)


async def test_a_book_typed_after_touching_an_area_or_the_report_is_taken(circulation, station):
    """A touch never takes the focus from the scan field: the USB scanner's keys land."""
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        await pilot.press("f4")
        await on_screen(pilot, "ShelfCheckScreen")
        await wait_until(pilot, lambda: "K" in pilot.app.screen.areas.values())
        area = next(key for key, name in pilot.app.screen.areas.items() if name == "K")
        await click(pilot, f"#{area}")
        await wait_until(pilot, lambda: "Shelf check: shelf K" in screen_text(pilot))
        assert focused_on_scan_bar(pilot)
        message = await scan_and_wait(pilot, "20000002", typed=True)
        assert message == "✓ “放错的书”: right shelf."
        await pilot.press("f2")
        await wait_until(pilot, lambda: "Shelf K is checked." in screen_text(pilot))
        await click(pilot, "#report-box")  # a finger on the report, to scroll it
        assert focused_on_scan_bar(pilot)
        message = await scan_and_wait(pilot, "20000001", typed=True)
        assert message == "This shelf check is finished. Press “Back”."


async def test_a_book_scanned_again_counts_once(circulation, station, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        assert await scan_and_wait(pilot, "10000000") == "→ SHELF I\n书0"
        assert "Books returned: 1" in screen_text(pilot)
        # The same book again: now it is not on loan; said so, and not counted again.
        message = await scan_and_wait(pilot, "10000000")
        assert message == "→ SHELF I\n书0\n(It was not on loan. That is fine.)"
        assert screen_text(pilot).count("Books returned: 1") == 1
        assert "not on loan" not in pilot.app.screen.query_one("#count").render().plain
        # A book that was not on loan is not a return: said apart, once however often.
        for _ in range(3):
            await scan_and_wait(pilot, "20000001")
        assert "Books returned: 1  (not on loan: 1)" in screen_text(pilot)
        message = await scan_and_wait(pilot, station["helper"])
        assert message == "Thank you, 小帮手! You put away 1 book."
    assert shift_row(library).books == 1


async def test_my_books_ends_the_shift_and_opens_the_helpers_own_page(
    circulation, station, library, make
):
    make.rule("helper", loan_days=14, max_items=5)
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        await scan_and_wait(pilot, "10000000")
        button = pilot.app.screen.query_one("#mine")
        assert "My books  F5" in str(button.label) and not button.can_focus
        await pilot.press("f5")
        await on_screen(pilot, "PatronScreen")
        assert "Hello, 小帮手!" in screen_text(pilot)
        assert "Borrowed: “科学书”" in await scan_and_wait(pilot, "20000001")
        await wait_until(pilot, lambda: shift_row(library).ended_at is not None)
    with library.connection_context():
        assert Copy.get(Copy.barcode == "20000001").status == "on_loan"
    assert shift_row(library).books == 1


async def test_a_busy_database_when_an_area_is_touched_is_said_not_fatal(
    circulation, station, library_url, clock
):
    """A StorageError while the check starts is shown; the app goes on; a retry works."""
    path = sqlite_path(library_url)
    impatient = KioskSqliteDatabase(path, timeout=0.2)
    database.initialize(impatient)
    app = make_app(Circulation(Store(impatient, "kiosk-1", clock=clock)))
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        await pilot.press("f4")
        await on_screen(pilot, "ShelfCheckScreen")
        await wait_until(pilot, lambda: "K" in pilot.app.screen.areas.values())
        area = next(key for key, name in pilot.app.screen.areas.items() if name == "K")
        holder = sqlite3.connect(str(path), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the library
        try:
            await click(pilot, f"#{area}")
            await wait_until(pilot, lambda: "busy" in verdict(pilot))
            assert verdict(pilot) == (
                "Nothing was saved\nThe library computer is busy. Please scan again in a moment."
            )
            assert screen_name(pilot) == "ShelfCheckScreen" and app.is_running
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await click(pilot, f"#{area}")
        await wait_until(pilot, lambda: "Shelf check: shelf K" in screen_text(pilot))
    impatient.close()


async def test_a_shift_whose_screen_went_before_it_started_is_ended(
    circulation, station, library, library_url
):
    """The idle timeout (or another card) closes helper mode while the shift is being
    started: the shift is ended all the same, not left open for ever."""
    helper = circulation.patron("H1")
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        holder = sqlite3.connect(str(sqlite_path(library_url)), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the shift's start waits for the library
        try:
            app.push_screen(HelperScreen(helper))
            await wait_until(pilot, lambda: screen_name(pilot) == "HelperScreen")
            screen = pilot.app.screen
            await on_screen(pilot, "HelperScreen")  # drawn, the shift still starting
            await pilot.pause(0.1)
            assert screen.shift is None
            app.reset_to_attract()
            await on_screen(pilot, "AttractScreen")
            assert screen.shift is None
        finally:
            holder.execute("COMMIT")
            holder.close()
        await wait_until(pilot, lambda: screen.shift is not None)
        await wait_until(pilot, lambda: shift_row(library).ended_at is not None)


@pytest.mark.parametrize(("size", "language"), [((80, 24), "zh_CN"), ((120, 40), "en")])
async def test_where_a_book_goes_is_in_block_letters(circulation, station, size, language):
    """The README's "big words": the shelf's code five lines high, on the screen."""
    from kiosk.widgets.big_words import BigWords, block_letters

    app = make_app(circulation, language=language)
    async with app.run_test(size=size) as pilot:
        await scan_to(pilot, station["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.shift is not None)
        big = app.screen.query_one(BigWords)
        assert not big.display  # nothing scanned yet
        await scan_and_wait(pilot, "10000000")
        await pilot.pause()
        assert big.display and big.big and big.words == "I"
        assert str(big.render()).splitlines() == block_letters("I")
        assert big.region.height == 5 and app.screen.region.contains_region(big.region)
        for button in app.screen.query("Button"):
            if button.display:
                assert app.screen.region.contains_region(button.region), button
        await scan_and_wait(pilot, "10000001")  # reserved: the hold shelf
        assert big.words == ("预约架" if language == "zh_CN" else "HOLD")
        assert big.big == (language == "en")  # Chinese words stay text, in bold
        assert "XYZ" in await scan_and_wait(pilot, "XYZ")
        assert not big.display  # a refusal hides it
