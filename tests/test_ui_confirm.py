"""Pilot tests: what cannot be undone is asked first (issue 14, point 7).

Leaving kiosk mode (F10 at the kiosk) and closing the desk (F10 at the desk) end the
program: a slip of the finger next to F9 (the next tab) must not do it. An export of
the day's log that would replace an earlier one (a filtered export over the whole
day's) asks too. (Returns, renewals, revoked cards and reviewed cases asked already.)
"""

from __future__ import annotations

import pytest
import test_desk_app
import test_ui_librarian
from test_desk_app import desk_app, sign_in
from test_ui_librarian import open_librarian
from uikit import make_app, on_screen, screen_text, wait_until

from kiosk.locale import set_language
from kiosk.screens.librarian_panel import LibrarianPanel

site = test_desk_app.site  # their fixtures
librarian, day = test_ui_librarian.librarian, test_ui_librarian.day


@pytest.fixture(autouse=True)
def _language():
    yield
    set_language("zh_CN")


async def test_f10_at_the_desk_asks_before_closing(site, clock):
    app = desk_app(site, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await on_screen(pilot, "DeskLogin")
        await sign_in(pilot, "L0001", "2468")
        await on_screen(pilot, "DeskScreen")
        panel = app.screen.query_one(LibrarianPanel)
        await wait_until(pilot, lambda: panel.loaded)
        await pilot.press("f10")
        await on_screen(pilot, "ConfirmModal")
        assert "Close the desk program?" in screen_text(pilot)
        await pilot.press("escape")
        await on_screen(pilot, "DeskScreen")
        assert app.is_running
        await pilot.press("f10")
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")
        await wait_until(pilot, lambda: not app.is_running, timeout=3)


async def test_an_export_that_would_replace_the_days_export_asks_first(
    circulation, librarian, day, tmp_path
):
    folder = tmp_path / "exports"
    app = make_app(circulation, export_dir=str(folder))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_librarian(pilot, librarian)
        await pilot.press("f6")  # the whole day, the first time: no question
        await wait_until(pilot, lambda: "records written to" in screen_text(pilot))
        whole = (folder / f"day-log-{panel.day.isoformat()}.csv").read_bytes()
        await pilot.press(*"ann")
        await wait_until(pilot, lambda: len(panel.shown) < len(panel.entries))
        await pilot.press("f6")  # Ann's rows only would replace the whole day's
        await on_screen(pilot, "ConfirmModal")
        assert "already exported" in screen_text(pilot)
        await pilot.press("escape")
        await on_screen(pilot, "LibrarianScreen")
        assert (folder / f"day-log-{panel.day.isoformat()}.csv").read_bytes() == whole
        await pilot.press("f6")
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")
        await wait_until(pilot, lambda: (folder / f"day-log-{panel.day.isoformat()}.csv"
                                         ).read_bytes() != whole)
