"""Pilot tests: what cannot be undone is asked first (issue 14, point 7).

Leaving kiosk mode (F10 at the kiosk) and closing the desk (F10 at the desk) end the
program: a slip of the finger next to F9 (the next tab) must not do it.
"""

from __future__ import annotations

import pytest
import test_desk_app
from test_desk_app import desk_app, sign_in
from uikit import on_screen, screen_text, wait_until

from kiosk.locale import set_language
from kiosk.screens.librarian_panel import LibrarianPanel

site = test_desk_app.site  # its fixture


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
