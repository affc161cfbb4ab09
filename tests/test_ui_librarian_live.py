"""Pilot tests: the librarian's tabs are live, and the keys go where the librarian looks
(issue 14, points 1 and 6).

* New facts made while the tabs are open (a loan at the kiosk, a refusal that is a
  case, a kiosk's push to a PostgreSQL desk) appear within seconds; the filter, the
  highlighted row and the view stay; nothing is read again while nothing changes.
* Typing goes to the filter of the tab in view, not the scan field; Enter acts on
  the highlighted row of the tab in view; a scanner's burst typed into a filter is
  still a scan.
"""

from __future__ import annotations

import asyncio

import pytest
import synckit as sk
import test_ui_librarian
from test_desk_app import desk_app, sign_in
from test_ui_librarian import open_librarian
from textual import events
from textual.widgets import Input
from uikit import make_app, on_screen, post_scan, screen_name, screen_text, wait_until

from kiosk.data.core import cards
from kiosk.data.core.errors import KioskError
from kiosk.data.librarian.daybook import DayBook
from kiosk.locale import set_language
from kiosk.screens import librarian_panel
from kiosk.screens.librarian_panel import LibrarianPanel
from kiosk.widgets.row_table import RowTable
from kiosk.widgets.scan_bar import ScanBar

librarian, day = test_ui_librarian.librarian, test_ui_librarian.day  # their fixtures


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch):
    monkeypatch.setattr(librarian_panel, "POLL_EVERY", 0.2, raising=False)
    yield
    set_language("zh_CN")


def forged_card(day) -> str:
    prefix = day["ann_card"].split(".")[0]
    return cards.encode(prefix, "2001", 1, "not-our-secret")


async def typed_by_scanner(app, text: str) -> None:
    """``text`` and Enter as a USB scanner sends them: all keys in one burst, posted
    together as the terminal driver posts one read (handled back to back, so the gaps
    between them stay a scanner's however busy the machine is)."""
    for char in text:
        app.post_message(events.Key(char, char))
    app.post_message(events.Key("enter", "\r"))


def log_filter(pilot) -> Input:
    return pilot.app.screen.query_one("#log-filter", Input)


# -- point 1: live ----------------------------------------------------------------------


async def test_a_loan_made_meanwhile_appears_keeping_filter_and_selection(
    circulation, librarian, day, make
):
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        await pilot.press(*"ann")
        await wait_until(pilot, lambda: len(panel.shown) < len(panel.entries))
        table = app.screen.query_one("#log-table", RowTable)
        table.cursor = 1
        chosen = table.chosen_key.uuid
        before = len(panel.shown)
        book = make.copy(make.title("Book new"), barcode="B0100")
        await asyncio.to_thread(circulation.checkout, "2001", book.barcode)  # another thread
        await wait_until(pilot, lambda: len(panel.shown) == before + 1, timeout=5)
        assert panel.shown[0].copy == "B0100"
        assert "Borrowed “Book new”" in table.rows[0][-1]
        assert log_filter(pilot).value == "ann"  # the filter stays
        assert table.chosen_key.uuid == chosen and table.cursor == 2  # so does the row
        assert panel.figures is not None and panel.figures.loans == 4


async def test_a_new_case_appears_on_the_cases_tab(circulation, librarian, day):
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        await pilot.press("f9")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-cases")
        assert "Nothing to review." in screen_text(pilot)
        with pytest.raises(KioskError):  # a forged card at another kiosk of this library
            await asyncio.to_thread(circulation.open_card, forged_card(day))
        await wait_until(pilot, lambda: bool(panel.cases), timeout=5)
        assert "1 to review." in screen_text(pilot)
        assert "not a card of our library" in app.screen.query_one(
            "#cases-table", RowTable).rows[0][-1]


async def test_nothing_is_read_again_while_nothing_changes(circulation, librarian, day):
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        calls = app._db.calls
        await pilot.pause(1.1)  # five looks at the marker
        polls = app._db.calls - calls
        assert 3 <= polls <= 7, polls  # one cheap call a look, nothing more
        assert panel.refreshes == 0


async def test_the_desk_on_postgresql_shows_a_kiosks_push(pg_url, tmp_path, clock):
    site = sk.make_site(pg_url, tmp_path, clock)
    try:
        from kiosk.data.core import library, masterdata
        from kiosk.data.core.security import hash_pin
        with sk.on(site.desk), site.desk.atomic():
            masterdata.save("patron_saved", patron="L0001", name="Ms Lin", kind="librarian",
                            pin_hash=hash_pin("2468"))
            library.issue_card("L0001", when=clock())
        hall = site.add_kiosk("hall")
        app = desk_app(site, clock)
        async with app.run_test(size=(120, 36)) as pilot:
            await on_screen(pilot, "DeskLogin")
            await sign_in(pilot, "L0001", "2468")
            await on_screen(pilot, "DeskScreen")
            panel = app.screen.query_one(LibrarianPanel)
            await wait_until(pilot, lambda: panel.loaded and panel.marker is not None)
            assert not [e for e in panel.entries if e.kind == "checkout"]

            def lend_and_sync() -> None:
                hall.circulation.checkout("S0001", "B00001")
                hall.sync(site.desk)

            await asyncio.to_thread(lend_and_sync)
            await wait_until(
                pilot, lambda: [e.copy for e in panel.entries if e.kind == "checkout"]
                == ["B00001"], timeout=5,
            )
            assert panel.figures is not None and panel.figures.loans == 1
    finally:
        for kiosk in site.kiosks.values():
            kiosk.db.close()
        site.desk.close()


# -- point 6: focus -----------------------------------------------------------------------


async def test_typing_goes_to_the_filter_of_the_tab_in_view(circulation, librarian, day):
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        await pilot.press(*"bob")
        await wait_until(pilot, lambda: log_filter(pilot).value == "bob")
        assert app.screen.query_one(ScanBar).value == ""
        assert panel.shown and all(e.patron == "2002" for e in panel.shown)
        panel.show_tab("tab-overdue")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-overdue")
        await pilot.press(*"cal")
        assert app.screen.query_one("#overdue-filter", Input).value == "cal"
        assert len(app.screen.query_one("#overdue-table", RowTable).rows) == 1
        await pilot.press("backspace", "backspace", "backspace", *"nobody")
        assert not app.screen.query_one("#overdue-table", RowTable).rows
        # a key pressed on a table goes to its filter too
        panel.show_tab("tab-log")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-log")
        app.screen.query_one("#log-table", RowTable).focus()
        await pilot.press(*"x")
        assert log_filter(pilot).value == "bobx" and app.screen.focused is log_filter(pilot)


async def test_enter_on_the_cases_tab_opens_the_highlighted_case(circulation, librarian, day):
    DayBook(circulation).revoke_card("2001", "L0001")  # Ann lost her card
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        post_scan(pilot, day["ann_card"])  # a case: Ann's lost card, used
        await wait_until(pilot, lambda: "reported lost" in screen_text(pilot))
        panel = await open_librarian(pilot, librarian)
        await pilot.press(*"b0002")  # the day log's filter: Bob's book
        await wait_until(pilot, lambda: len(panel.shown) == 1)
        await pilot.press("f9")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-cases")
        await pilot.press("enter")
        await on_screen(pilot, "PatronModal")  # the case's patron, not Bob's book
        await wait_until(pilot, lambda: "Ann Lee (2001)" in screen_text(pilot))
        await pilot.press("escape")
        await on_screen(pilot, "LibrarianScreen")
        await wait_until(pilot, lambda: app.screen.focused is not None
                         and app.screen.focused.id == "cases-filter")


async def test_a_scanner_burst_in_a_filter_is_a_scan(circulation, librarian, day):
    app = make_app(circulation)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_librarian(pilot, librarian)
        await pilot.press(*"ann")
        await pilot.pause(0.1)  # the librarian stops typing; then a book is scanned
        await typed_by_scanner(app, "B0002")
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: "Lent to Bob Wu (2002)" in screen_text(pilot))
        await pilot.press("escape")
        await on_screen(pilot, "LibrarianScreen")
        await wait_until(pilot, lambda: app.screen.focused is log_filter(pilot))
        assert log_filter(pilot).value == "ann"  # the burst was taken back out
        await typed_by_scanner(app, day["ann_card"])  # a card opens its patron
        await on_screen(pilot, "PatronModal")
        await wait_until(pilot, lambda: "Ann Lee (2001)" in screen_text(pilot))
        assert screen_name(pilot) == "PatronModal"
